"""The nation's public site. For now its home page; pages and themes come with the website issue."""

from django.shortcuts import render


def home(request):
    return render(request, "site/home.html", {"nation": request.tenant})
