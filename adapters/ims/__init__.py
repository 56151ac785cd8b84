"""The IMS Enterprise 1.1 source with the Swedish TK450 extension and Tieto's Organization
API form: the XML exports of Tieto (Procapita, TED, Edlevo) and IST installations."""
