"""URLs of the People area (exports); included by nations/people/urls.py."""

urlpatterns: list = []
