"""The easy-read versions ("facile à lire et à comprendre", FALC): one page per key page,
/facile/<slug>, each with its title and the page it simplifies. The content of each is one
partial, templates/easy/_<slug>.html, also printed in the desk's help sheets."""

from __future__ import annotations

from web.i18n import lazy_gettext as _l

# slug: (the easy-read page's title, endpoint of the full page, the full page's name)
PAGES = {
    "activer": (_l("Activer mon espace santé : version facile à lire"),
                "activation.code", _l("Activer mon espace santé")),
    "refuser": (_l("Refuser mon espace santé : version facile à lire"),
                "activation.oppose_with_code", _l("Refuser la création de mon espace santé")),
    "code-provisoire": (_l("Demander un code provisoire : version facile à lire"),
                        "activation.provisional", _l("Demander un code provisoire")),
    "aide": (_l("Aide : version facile à lire"), "pages.help", _l("Aide")),
    "arnaques": (_l("Arnaques : version facile à lire"),
                 "pages.fraud", _l("Arnaques : comment vous protéger")),
}
