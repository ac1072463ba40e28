"""URLs of the People area (profile); included by nations/people/urls.py."""

urlpatterns: list = []
