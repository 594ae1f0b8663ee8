from tests.conftest import sign_in


def test_sign_in_with_totp_reaches_the_patient_space(client, app, demo_users):
    sign_in(client, app, "camille.martin")
    page = client.get("/mon-espace")
    assert page.status_code == 200
    assert "Camille" in page.get_data(as_text=True)
