"""Tasks of the supporter base. They run in the schema they were enqueued from."""

from django.db import connection
from django.utils import translation

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


BULK_BATCH = 5000


@nation_task(name="people.bulk_apply")
def bulk_apply(
    job_id: int,
    source: dict,
    action: str,
    target: str | int,
    actor_id: int | None = None,
    actor_name: str = "",
) -> int:
    """Tag, untag, list or unlist everybody in `source` ({"definition": ...}, {"list": id} or
    {"people": [ids]}), in id-ordered batches that each commit and move the job's progress bar.

    Idempotent: running it again changes nobody twice. Returns how many people changed."""
    from .actions import Actor

    actor = Actor(user_id=actor_id, name=actor_name)
    nation = getattr(connection, "tenant", None)
    with translation.override(getattr(nation, "language", None) or "en"):
        return _bulk_apply(job_id, source, action, target, actor)


def _bulk_apply(job_id: int, source: dict, action: str, target: str | int, actor) -> int:
    from django.utils.translation import gettext as _

    from nations.jobs.actions import job_fail, job_finish, job_progress, job_start

    from .actions import people_list_bulk, people_tag_bulk
    from .filters import FilterError, source_people
    from .models import PeopleList

    try:
        people = source_people(source)
        people_list = None
        if action in ("list", "unlist"):
            people_list = PeopleList.objects.filter(pk=target).first()
            if people_list is None:
                job_fail(job_id=job_id, message=_("The list no longer exists."))
                return 0
        job_start(job_id=job_id, total=people.order_by().count())
        changed = 0
        last_id = 0
        while True:
            ids = list(
                people.filter(pk__gt=last_id)
                .order_by("pk")
                .values_list("pk", flat=True)[:BULK_BATCH]
            )
            if not ids:
                break
            batch = Person.objects.filter(pk__in=ids)
            if people_list is not None:
                changed += people_list_bulk(
                    people=batch, people_list=people_list, actor=actor, remove=action == "unlist"
                )
            else:
                changed += people_tag_bulk(
                    people=batch, tag_name=str(target), actor=actor, remove=action == "untag"
                )
            last_id = ids[-1]
            job_progress(job_id=job_id, add=len(ids))
    except FilterError as exc:
        job_fail(job_id=job_id, message=str(exc))
        return 0
    except Exception:
        job_fail(
            job_id=job_id,
            message=_("Stopped by an error; the people already done keep the change."),
        )
        raise
    job_finish(
        job_id=job_id,
        result={"changed": changed},
        message=_("%(count)s people changed") % {"count": changed},
    )
    return changed


from .exports import export_people_task  # noqa: E402, F401 - registers the export task
