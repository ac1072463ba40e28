"""URLs of the People area (segments); included by nations/people/urls.py."""

urlpatterns: list = []
