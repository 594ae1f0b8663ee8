"""The sample browser policy for desk tablets (README "The desk"): valid JSON that turns
off what would keep a person's data on a shared tablet."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "deploy" / "desk" / "chromium-policy.json"


def test_the_desk_policy_turns_off_passwords_autofill_and_history():
    policy = json.loads(POLICY.read_text(encoding="utf-8"))
    assert policy["PasswordManagerEnabled"] is False
    assert policy["AutofillAddressEnabled"] is False
    assert policy["AutofillCreditCardEnabled"] is False
    assert policy["SavingBrowserHistoryDisabled"] is True
    assert {"browsing_history", "cookies_and_other_site_data", "cached_images_and_files",
            "password_signin", "autofill"} <= set(policy["ClearBrowsingDataOnExitList"])
    assert "deploy/desk/chromium-policy.json" in (ROOT / "README.md").read_text(
        encoding="utf-8")
