"""Imports of people (CSV, XLSX); mounted at /panel/people/imports/."""

urlpatterns: list = []
