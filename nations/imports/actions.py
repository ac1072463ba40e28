"""The life of an import: upload, map, preview, run (in chunks, resumable), report."""

from __future__ import annotations

import csv
import io
import logging
import queue
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from nations.jobs.actions import job_create, job_fail, job_finish, job_progress, job_start
from nations.jobs.models import Job
from nations.people.actions import Actor

from .bulk import ChunkResult, apply_chunk, fk_triggers_skippable, rows_copy_text
from .columns import MULTIPLE, import_targets, suggest_mapping
from .models import Import, ImportRejection
from .reader import FileProblem, Sniffed, count_records, records, sniff
from .rows import CleanRow, CustomSpec, RowCleaner, RowProblem, custom_specs

CHUNK_ROWS = 20_000  # rows per committed step; three chunks alive at most (see _prepared_chunks)
STALE_AFTER = timedelta(minutes=2)  # a running import silent this long lost its worker
RAW_KEEP = 500  # characters of a rejected row kept for the report

logger = logging.getLogger(__name__)


class ImportNotReady(Exception):
    """The import cannot start or resume in its current state."""


def import_create(*, upload, actor: Actor) -> Import:
    """Store the uploaded file in the nation's storage and read its header.

    Raises FileProblem (and stores nothing) when the file cannot be imported at all."""
    suffix = Path(upload.name or "").suffix.lower()[:6]
    name = default_storage.save(f"imports/{uuid.uuid4().hex}{suffix}", upload)
    try:
        sniffed = sniff(default_storage.path(name))
    except FileProblem:
        default_storage.delete(name)
        raise
    return Import.objects.create(
        file=name,
        original_name=(upload.name or "import")[:255],
        size=upload.size or 0,
        kind=sniffed.kind,
        encoding=sniffed.encoding,
        delimiter=sniffed.delimiter,
        headers=sniffed.headers,
        mapping=suggest_mapping(sniffed.headers, import_targets()),
        created_by_id=actor.user_id,
        created_by_name=actor.name,
        language=get_language() or "",
    )


def sniffed_of(people_import: Import) -> Sniffed:
    return Sniffed(
        kind=people_import.kind,
        encoding=people_import.encoding,
        delimiter=people_import.delimiter,
        headers=people_import.headers,
    )


def import_configure(
    *,
    people_import: Import,
    mapping: dict[str, str],
    match_rule: str,
    on_match: str,
    date_order: str,
    extra_tags: list[str],
) -> Import:
    if people_import.status != Import.Status.DRAFT:
        raise ImportNotReady(_("This import has already started."))
    clean = {}
    used = set()
    targets = import_targets()
    for index, target in mapping.items():
        if target not in targets or not index.isdigit():
            continue
        if int(index) >= len(people_import.headers):
            continue
        if target in used and target not in MULTIPLE:
            raise ValueError(target)
        used.add(target)
        clean[index] = target
    people_import.mapping = clean
    people_import.match_rule = match_rule
    people_import.on_match = on_match
    people_import.date_order = date_order
    people_import.extra_tags = [t for t in extra_tags if t][:20]
    people_import.save()
    return people_import


def cleaner_for(people_import: Import, custom: dict[str, CustomSpec] | None = None) -> RowCleaner:
    """The import's row cleaner; `custom` (custom_specs()) is read here when not given, which
    needs the nation's schema: the reading thread gets it from the caller."""
    return RowCleaner(
        people_import.mapping,
        date_order=people_import.date_order,
        default_region=people_import.default_region,
        extra_tags=people_import.extra_tags,
        custom=custom_specs() if custom is None else custom,
    )


@dataclass
class PreviewRow:
    line: int
    row: CleanRow | None
    problem: str
    extras: list[tuple[str, str]] | None = None  # (custom field label, value), the note


def import_preview(people_import: Import, limit: int = 20) -> list[PreviewRow]:
    """The first rows as the import will see them, with the reason any would be turned down."""
    custom = custom_specs()
    labels = {spec.slug: spec.label for spec in custom.values()}
    cleaner = cleaner_for(people_import, custom)
    width = len(people_import.headers)
    preview = []
    path = default_storage.path(people_import.file)
    for line, cells in records(path, sniffed_of(people_import)):
        if cells is None:
            preview.append(PreviewRow(line, None, _("this row could not be read")))
        elif not any(c.strip() for c in cells):
            continue
        else:
            try:
                row = cleaner.clean(line, cells, width)
                problem = _no_identity(row) if row.is_blank else ""
                extras = [(labels.get(k, k), str(v)) for k, v in (row.custom or {}).items()]
                if row.note:
                    extras.append((_("Note"), row.note[:80]))
                preview.append(PreviewRow(line, row, problem, extras))
            except RowProblem as problem:
                preview.append(PreviewRow(line, None, str(problem)))
        if len(preview) >= limit:
            break
    return preview


def _no_identity(row: CleanRow) -> str:
    return _("no name, email, phone or external id: nothing to say who this is")


def import_start(*, people_import: Import, actor: Actor) -> Import:
    """Queue the import; its progress is a Job the panel polls."""
    from config.tasks import enqueue

    from .tasks import run_import

    if people_import.status != Import.Status.DRAFT:
        raise ImportNotReady(_("This import has already started."))
    if not people_import.mapping:
        raise ImportNotReady(_("Choose what at least one column holds."))
    job = job_create(
        kind="people_import",
        title=_("Import of %(name)s") % {"name": people_import.original_name},
        created_by_id=actor.user_id,
    )
    people_import.job = job
    people_import.status = Import.Status.QUEUED
    people_import.save(update_fields=["job", "status"])
    enqueue(run_import, people_import.pk)
    return people_import


def import_can_resume(people_import: Import) -> bool:
    if people_import.status == Import.Status.FAILED:
        return True
    if people_import.status in (Import.Status.RUNNING, Import.Status.QUEUED):
        last = people_import.heartbeat_at or people_import.started_at or people_import.created_at
        return timezone.now() - last > STALE_AFTER
    return False


def import_resume(*, people_import: Import) -> Import:
    """Run a stopped import again from its last committed row (its worker died or it failed)."""
    from config.tasks import enqueue

    from .tasks import run_import

    if not import_can_resume(people_import):
        raise ImportNotReady(_("This import is not stopped; it cannot be resumed."))
    Import.objects.filter(pk=people_import.pk).update(
        status=Import.Status.QUEUED, error="", heartbeat_at=timezone.now()
    )
    if people_import.job_id:
        Job.objects.filter(pk=people_import.job_id).update(
            status=Job.Status.QUEUED, finished_at=None, message=""
        )
    enqueue(run_import, people_import.pk)
    people_import.refresh_from_db()
    return people_import


def import_run(import_id: int, *, max_chunks: int | None = None) -> Import:
    """Apply the file from the import's offset on, chunk after chunk, each chunk committed with
    its rejections and the new offset. Stops after `max_chunks` if given (the import stays
    resumable). A failure marks the import stopped with its reason; what was committed stays."""
    people_import = Import.objects.get(pk=import_id)
    if people_import.status == Import.Status.DONE:
        return people_import
    path = default_storage.path(people_import.file)
    sniffed = sniffed_of(people_import)
    now = timezone.now()
    changes = {"status": Import.Status.RUNNING, "heartbeat_at": now, "error": ""}
    if people_import.started_at is None:
        changes["started_at"] = now
    Import.objects.filter(pk=import_id).update(**changes)
    try:
        if people_import.total_rows is None:
            total = count_records(path, sniffed)
            Import.objects.filter(pk=import_id).update(total_rows=total)
            people_import.total_rows = total
        if people_import.job_id:
            job_start(job_id=people_import.job_id, total=people_import.total_rows)
            job_progress(job_id=people_import.job_id, done=people_import.offset)
        skip_fk_triggers = fk_triggers_skippable()
        logger.info(
            "import %s: chunks written %s",
            import_id,
            "without per-row FK triggers (session_replication_role = replica)"
            if skip_fk_triggers
            else "with per-row FK triggers",
        )
        prepared = _prepared_chunks(people_import, path, sniffed)
        try:
            for applied, chunk in enumerate(prepared):
                if max_chunks is not None and applied >= max_chunks:
                    return Import.objects.get(pk=import_id)
                _apply(import_id, chunk, skip_fk_triggers=skip_fk_triggers)
        finally:
            prepared.close()
    except FileProblem as problem:
        return _stop(import_id, problem.message)
    except ImportNotReady:
        return Import.objects.get(pk=import_id)  # another worker has it
    except Exception as exc:
        _stop(import_id, _("The import stopped: %(error)s") % {"error": str(exc)[:300]})
        raise
    done = Import.objects.get(pk=import_id)
    Import.objects.filter(pk=import_id).update(
        status=Import.Status.DONE, finished_at=timezone.now()
    )
    if done.job_id:
        from django.urls import reverse

        job_finish(
            job_id=done.job_id,
            result={
                "created": done.created,
                "updated": done.updated,
                "skipped": done.skipped,
                "rejected": done.rejected,
            },
            message=_("%(created)s added, %(updated)s updated, %(rejected)s rejected")
            % {"created": done.created, "updated": done.updated, "rejected": done.rejected},
            result_url=reverse("panel:people:import_detail", args=[done.pk]),
        )
    done.refresh_from_db()
    return done


def _stop(import_id: int, message: str) -> Import:
    Import.objects.filter(pk=import_id).update(
        status=Import.Status.FAILED, error=message[:500], finished_at=timezone.now()
    )
    people_import = Import.objects.get(pk=import_id)
    if people_import.job_id:
        job_fail(job_id=people_import.job_id, message=message)
    return people_import


@dataclass
class RawChunk:
    records: list[tuple[int, list[str] | None]]
    start: int  # offset of its first record
    end: int  # offset after its last record


def _chunks(path: str, sniffed: Sniffed, *, skip: int) -> Iterator[RawChunk]:
    batch: list = []
    position = skip
    for record in records(path, sniffed, skip=skip):
        batch.append(record)
        if len(batch) >= CHUNK_ROWS:
            yield RawChunk(batch, position, position + len(batch))
            position += len(batch)
            batch = []
    if batch:
        yield RawChunk(batch, position, position + len(batch))


@dataclass
class PreparedChunk:
    raw: RawChunk
    good: list[CleanRow]
    rejected: list[tuple[int, str, list[str] | None]]
    blank: int
    copy_text: str


def _prepared_chunks(people_import: Import, path: str, sniffed: Sniffed) -> Iterator[PreparedChunk]:
    """The file's chunks from the import's offset on, read and cleaned one chunk ahead in a
    thread while the caller writes the previous one: cleaning is Python and the writes are
    PostgreSQL (psycopg2 lets go of the GIL while it waits), so the two overlap on two cores.
    At most three chunks are alive at once (one written, one waiting, one being cleaned), so
    memory stays flat. Errors (FileProblem included) come out of the iterator as they would
    have without the thread."""
    language = translation.get_language()
    custom = custom_specs()  # the thread has no database connection in the nation's schema
    ahead: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            with translation.override(language):
                for chunk in _chunks(path, sniffed, skip=people_import.offset):
                    if not put(_prepare(people_import, chunk, custom)):
                        return
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
            return
        put(None)

    worker = threading.Thread(target=produce, name=f"import-{people_import.pk}", daemon=True)
    worker.start()
    try:
        while True:
            item = ahead.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _prepare(
    people_import: Import, chunk: RawChunk, custom: dict[str, CustomSpec] | None = None
) -> PreparedChunk:
    """Clean a chunk's rows and reject the ones that repeat an earlier row of the chunk (no
    database access when `custom` is given: this runs in the reading thread)."""
    cleaner = cleaner_for(people_import, custom)
    width = len(people_import.headers)
    rule = people_import.match_rule
    good: list[CleanRow] = []
    rejected: list[tuple[int, str, list[str] | None]] = []
    blank = 0
    first_line: dict[str, int] = {}
    external_ids: dict[str, int] = {}
    for line, cells in chunk.records:
        if cells is None:
            rejected.append((line, _("this row could not be read (a cell is over 16 MB)"), None))
            continue
        if not any(c.strip() for c in cells):
            blank += 1
            continue
        try:
            row = cleaner.clean(line, cells, width)
        except RowProblem as problem:
            rejected.append((line, str(problem), cells))
            continue
        if row.is_blank:
            rejected.append((line, _no_identity(row), cells))
            continue
        key = _key(row, rule)
        if key is not None:
            if key in first_line:
                rejected.append(
                    (
                        line,
                        _("duplicate: same %(identifier)s as line %(line)s")
                        % {"identifier": _identifier(rule), "line": first_line[key]},
                        cells,
                    )
                )
                continue
            first_line[key] = line
        if row.external_id and rule != "external_id":
            if row.external_id in external_ids:
                rejected.append(
                    (
                        line,
                        _("duplicate: same external id as line %(line)s")
                        % {"line": external_ids[row.external_id]},
                        cells,
                    )
                )
                continue
            external_ids[row.external_id] = line
        good.append(row)
    copy_text = rows_copy_text(good, lambda row: _key(row, rule))
    return PreparedChunk(chunk, good, rejected, blank, copy_text)


def _apply(
    import_id: int, prepared: PreparedChunk | RawChunk, *, skip_fk_triggers: bool = False
) -> None:
    chunk = prepared.raw if isinstance(prepared, PreparedChunk) else prepared
    with transaction.atomic():
        # The row lock makes a second worker on the same import wait, then see the new offset.
        people_import = Import.objects.select_for_update().get(pk=import_id)
        if people_import.offset != chunk.start or people_import.status != Import.Status.RUNNING:
            raise ImportNotReady(_("Another worker is running this import."))
        rule = people_import.match_rule
        if isinstance(prepared, RawChunk):
            prepared = _prepare(people_import, prepared)
        good, rejected, blank = prepared.good, list(prepared.rejected), prepared.blank
        by_line = {line: cells for line, cells in chunk.records}
        result: ChunkResult = apply_chunk(
            good,
            match_rule=rule,
            on_match=people_import.on_match,
            source=people_import.source,
            summary=_("Imported from %(name)s") % {"name": people_import.original_name},
            actor=Actor(people_import.created_by_id, people_import.created_by_name),
            now=timezone.now(),
            key_of=lambda row: _key(row, rule),
            copy_text=prepared.copy_text,
            skip_fk_triggers=skip_fk_triggers,
        )
        rejected += [(line, reason, by_line.get(line)) for line, reason in result.rejected]
        ImportRejection.objects.bulk_create(
            [
                ImportRejection(
                    people_import_id=import_id,
                    line=line,
                    reason=reason[:500],
                    raw=_raw(cells, people_import.delimiter),
                )
                for line, reason, cells in rejected
            ],
            batch_size=2000,
        )
        people_import.offset = chunk.end
        people_import.created += result.created
        people_import.updated += result.updated
        people_import.skipped += result.skipped + blank
        people_import.rejected += len(rejected)
        people_import.heartbeat_at = timezone.now()
        people_import.save(
            update_fields=[
                "offset",
                "created",
                "updated",
                "skipped",
                "rejected",
                "heartbeat_at",
            ]
        )
        if people_import.job_id:
            job_progress(job_id=people_import.job_id, done=chunk.end)


def _key(row: CleanRow, rule: str) -> str | None:
    value = {"email": row.email, "phone": row.phone, "external_id": row.external_id}[rule]
    return value or None


def _identifier(rule: str) -> str:
    return {"email": _("email"), "phone": _("phone number"), "external_id": _("external id")}[rule]


def _raw(cells: list[str] | None, delimiter: str) -> str:
    if cells is None:
        return ""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter or ",").writerow([c[:RAW_KEEP] for c in cells[:200]])
    return out.getvalue().rstrip("\r\n")[:RAW_KEEP]


def rejections_csv_rows(people_import: Import) -> Iterator[list[str]]:
    yield [_("line"), _("reason"), _("row")]
    for line, reason, raw in (
        ImportRejection.objects.filter(people_import=people_import)
        .order_by("line", "id")
        .values_list("line", "reason", "raw")
        .iterator(chunk_size=5000)
    ):
        yield [str(line), reason, raw]
