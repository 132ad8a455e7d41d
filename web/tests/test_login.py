import pytest

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def test_the_login_page_uses_the_heeded_layout(client):
    response = client.get("/accounts/login/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "/static/css/heeded.css" in html
    assert 'class="auth-card"' in html
    assert "Username or e-mail" in html
    # Accounts are made by an admin: no invitation to sign up.
    assert "sign up" not in html.lower()


def test_logging_in_lands_on_the_dashboard(client, manager):
    response = client.post(
        "/accounts/login/", {"login": "marco", "password": PASSWORD}, follow=True
    )

    assert response.redirect_chain[-1][0] == "/"
    assert b"<h1>Dashboard</h1>" in response.content


def test_logging_in_returns_to_the_page_asked_for(client, manager, client_a):
    asked = f"/clients/{client_a.pk}/"
    first = client.get(asked)

    response = client.post(first["Location"], {"login": "marco", "password": PASSWORD})

    assert response["Location"] == asked


def test_a_wrong_password_is_reported_on_the_form(client, manager):
    response = client.post("/accounts/login/", {"login": "marco", "password": "wrong"})

    assert response.status_code == 200
    assert b"not correct" in response.content
    assert b'value="marco"' in response.content
    assert "_auth_user_id" not in client.session


def test_logging_out_ends_the_session(login, client, manager):
    login(manager)

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_the_sign_in_page_offers_the_password_reset_once(client):
    # allauth puts the link under the password field; a second one beside the form
    # (as after a merge) reads as a mistake.
    page = client.get("/accounts/login/").content.decode()
    assert page.count('href="/accounts/password/reset/"') == 1
