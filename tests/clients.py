from django.test import Client


def client_for(user):
    """A browser-like test client signed in as `user` (session auth)."""
    client = Client()
    client.force_login(user)
    return client
