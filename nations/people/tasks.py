"""Tasks of the supporter base. They run in the schema they were enqueued from."""

from config.tasks import nation_task

from .models import Person


@nation_task(name="people.count_people", ignore_result=False)
def count_people() -> int:
    """The number of people in the nation the task runs for (used by health checks and tests)."""
    return Person.objects.count()


@nation_task(name="people.record_person")
def record_person(first_name: str, email: str) -> int:
    from .actions import person_create

    return person_create(first_name=first_name, email=email).pk
