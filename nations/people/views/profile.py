"""People in the control panel: the list (search, sort, pages) and a person's profile."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from nations.panel.access import staff_required

from ..models import Person
from ..selectors import people_search


@staff_required("people.view")
def people_list(request):
    query = request.GET.get("q", "").strip()
    people = people_search(query) if query else Person.objects.filter(is_erased=False)
    page = Paginator(people, 50).get_page(request.GET.get("page"))
    return render(
        request, "people/person_list.html", {"page": page, "query": query, "section": "people"}
    )


@staff_required("people.view")
def person_detail(request, person_id: int):
    person = get_object_or_404(Person, pk=person_id)
    return render(request, "people/person_detail.html", {"person": person, "section": "people"})
