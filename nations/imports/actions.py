"""The life of an import: upload, map, preview, run (in chunks, resumable), report."""

from __future__ import annotations

import csv
import io
import itertools
import logging
import queue
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import psycopg2.errors
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from nations.jobs.actions import job_create, job_fail, job_finish, job_progress, job_start
from nations.jobs.models import Job
from nations.people.actions import Actor, tags_ensure

from .bulk import ChunkResult, apply_chunk, fk_triggers_skippable, rows_copy_text
from .columns import MULTIPLE, import_targets, suggest_mapping
from .models import Import, ImportRejection
from .reader import FileProblem, Sniffed, count_records, records, sniff
from .rows import CleanRow, CustomSpec, RowCleaner, RowProblem, custom_specs

# Rows per committed step; a handful of chunks alive at most (see _prepared_chunks).
CHUNK_ROWS = 20_000
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
    its rejections and the new offset, in file order. IMPORT_APPLIERS connections apply
    chunks at once (_apply_in_parallel). Stops after `max_chunks` if given (the import stays
    resumable). A failure marks the import stopped with its reason; what was committed stays.
    A second call while one runs (a session advisory lock) returns the import untouched."""
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
        # A caller's transaction (a test's) is invisible to other connections, and a chunk's
        # commit would not be one: chunks are then applied on this connection only.
        appliers = 1 if connection.in_atomic_block else max(1, settings.IMPORT_APPLIERS)
        logger.info(
            "import %s: chunks written by %s connection(s) %s",
            import_id,
            appliers,
            "without per-row FK triggers (session_replication_role = replica)"
            if skip_fk_triggers
            else "with per-row FK triggers",
        )
        with _running_alone(import_id):
            prepared = _prepared_chunks(people_import, path, sniffed)
            try:
                if appliers == 1:
                    for applied, chunk in enumerate(prepared):
                        if max_chunks is not None and applied >= max_chunks:
                            return Import.objects.get(pk=import_id)
                        _apply(import_id, chunk, skip_fk_triggers=skip_fk_triggers)
                else:
                    chunks = (
                        prepared if max_chunks is None else itertools.islice(prepared, max_chunks)
                    )
                    _apply_in_parallel(
                        import_id, chunks, appliers=appliers, skip_fk_triggers=skip_fk_triggers
                    )
                    if max_chunks is not None:
                        people_import = Import.objects.get(pk=import_id)
                        if people_import.offset < (people_import.total_rows or 0):
                            return people_import
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


@contextmanager
def _running_alone(import_id: int) -> Iterator[None]:
    """Hold the import's session advisory lock on this connection for the run: a second
    worker on the same import gets ImportNotReady (the chunks' own row lock is only taken at
    their end when several connections apply them)."""
    key = f"nations.import:{connection.schema_name}:{import_id}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [key])
        if not cursor.fetchone()[0]:
            raise ImportNotReady(_("Another worker is running this import."))
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [key])
        except DatabaseError:
            # Only inside a caller's broken transaction (a worker runs in autocommit): the
            # error that broke it is the one to raise; the lock goes with the connection.
            logger.warning("import %s: advisory lock not released", import_id)


class _ChunkOrder:
    """What the appliers know of each other's chunks (numbered in file order): started (its
    transaction holds the chunk's advisory lock), and then its final outcome."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.started: set[int] = set()
        self.outcome: dict[int, set[int] | None] = {}  # None: not committed
        self.error: BaseException | None = None

    def start(self, index: int) -> None:
        with self.changed:
            self.started.add(index)
            self.changed.notify_all()

    def finish(self, index: int, matched_ids: set[int] | None) -> None:
        with self.changed:
            self.outcome[index] = matched_ids
            self.changed.notify_all()

    def fail(self, index: int, error: BaseException) -> None:
        with self.changed:
            if self.error is None:
                self.error = error
            self.outcome[index] = None
            self.changed.notify_all()

    def wait_started(self, index: int) -> None:
        with self.changed:
            self.changed.wait_for(lambda: index in self.started or index in self.outcome)

    def wait_final(self, index: int) -> set[int] | None:
        with self.changed:
            self.changed.wait_for(lambda: index in self.outcome)
            return self.outcome[index]


class _Again(Exception):
    """The chunk must be rolled back and applied again once its predecessor is final."""


def _is_conflict(exc: BaseException) -> bool:
    """A clash with the chunk applied at the same time: a unique key both wrote, a deadlock,
    a serialization failure. Applied again alone, the chunk sees the other's rows."""
    if isinstance(exc, IntegrityError):
        return True
    cause = getattr(exc, "__cause__", None)
    return isinstance(exc, OperationalError) and isinstance(
        cause, (psycopg2.errors.DeadlockDetected, psycopg2.errors.SerializationFailure)
    )


def _apply_in_parallel(
    import_id: int, chunks: Iterable[PreparedChunk], *, appliers: int, skip_fk_triggers: bool
) -> None:
    """Apply the chunks on `appliers` connections of their own, chunk i on applier i mod n;
    each commits after its predecessor, so the import's offset moves as with one connection.
    The first failure stops the import: later chunks are rolled back and it is raised here."""
    order = _ChunkOrder()
    tenant = connection.tenant
    language = translation.get_language()
    lock_key = f"nations.import.chunk:{connection.schema_name}:{import_id}"
    inboxes: list[queue.Queue] = [queue.Queue(maxsize=1) for _ in range(appliers)]

    def applier(inbox: queue.Queue) -> None:
        connection.set_tenant(tenant)
        try:
            with translation.override(language):
                while (item := inbox.get()) is not None:
                    index, chunk = item
                    if order.error is not None:
                        order.finish(index, None)
                        continue
                    try:
                        _apply_in_order(
                            import_id,
                            chunk,
                            index=index,
                            order=order,
                            lock_key=lock_key,
                            skip_fk_triggers=skip_fk_triggers,
                        )
                    except BaseException as exc:  # raised by the caller's thread
                        order.fail(index, exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=applier, args=(inbox,), name=f"import-{import_id}-apply-{n}")
        for n, inbox in enumerate(inboxes)
    ]
    for thread in threads:
        thread.start()
    try:
        for index, chunk in enumerate(chunks):
            if order.error is not None:
                break
            inboxes[index % appliers].put((index, chunk))
    finally:
        for inbox in inboxes:
            inbox.put(None)
        for thread in threads:
            thread.join()
    if order.error is not None:
        raise order.error


CHUNK_ATTEMPTS = 3  # a chunk rolled back for a conflict is applied again, twice at most


def _apply_in_order(
    import_id: int,
    prepared: PreparedChunk,
    *,
    index: int,
    order: _ChunkOrder,
    lock_key: str,
    skip_fk_triggers: bool,
) -> None:
    """Apply one chunk on this thread's connection and commit it right after its predecessor.

    The chunk's transaction holds an advisory lock named after it from its start; a chunk
    done first waits on its predecessor's lock (in the database, so that a deadlock through
    rows both wrote is one PostgreSQL sees and breaks), then checks the offset under the
    import's row lock. A predecessor not committed, a person both chunks matched, or a
    conflict between the two transactions roll the chunk back; it is applied again once the
    predecessor is final (and not at all if that failed)."""
    chunk = prepared.raw
    attempts = 0
    while True:
        attempts += 1
        if attempts > 1 and index > 0 and order.wait_final(index - 1) is None:
            order.finish(index, None)  # the predecessor failed: the import stops there
            return
        try:
            # The chunk's new tags are committed before its transaction: created inside it,
            # a tag the other chunk also needs would make that one wait for this commit, and
            # this one wait (for the order) on that one, a deadlock PostgreSQL breaks only
            # after deadlock_timeout. A chunk rolled back may leave a tag nobody has yet.
            tags_ensure({name for row in prepared.good for name in row.tags})
            matched_ids = _apply_chunk_attempt(
                import_id,
                prepared,
                index=index,
                order=order,
                lock_key=lock_key,
                skip_fk_triggers=skip_fk_triggers,
            )
        except _Again:
            attempts -= 1  # waiting for the predecessor is no conflict
            if index > 0 and order.wait_final(index - 1) is None:
                order.finish(index, None)
                return
            continue
        except (IntegrityError, OperationalError) as exc:
            if attempts >= CHUNK_ATTEMPTS or not _is_conflict(exc):
                raise
            logger.info(
                "import %s: chunk at row %s applied again after a conflict (%s)",
                import_id,
                chunk.start,
                str(exc).splitlines()[0][:200],
            )
            continue
        order.finish(index, matched_ids)
        return


def _apply_chunk_attempt(
    import_id: int,
    prepared: PreparedChunk,
    *,
    index: int,
    order: _ChunkOrder,
    lock_key: str,
    skip_fk_triggers: bool,
) -> set[int]:
    chunk = prepared.raw
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s), %s)", [lock_key, index % 2**31]
            )
        order.start(index)
        people_import = Import.objects.get(pk=import_id)
        result = _apply_prepared(people_import, prepared, skip_fk_triggers=skip_fk_triggers)
        if index > 0:
            order.wait_started(index - 1)
            with connection.cursor() as cursor:  # until the predecessor's transaction ends
                cursor.execute(
                    "SELECT pg_advisory_xact_lock_shared(hashtext(%s), %s)",
                    [lock_key, (index - 1) % 2**31],
                )
        people_import = Import.objects.select_for_update().get(pk=import_id)
        if people_import.status != Import.Status.RUNNING:
            raise ImportNotReady(_("This import is not running any more."))
        if people_import.offset != chunk.start:
            raise _Again  # the predecessor rolled back (to be applied again, or failed)
        if index > 0 and result.matched_ids & (order.wait_final(index - 1) or set()):
            # Both wrote to one person, this chunk from what it read before the other's
            # commit: again, now that the other's changes are visible.
            raise IntegrityError("a person was matched by two chunks applied at once")
        _record_chunk(people_import, prepared, result)
    return result.matched_ids


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
    keys: dict[str, int] = field(default_factory=dict)  # match key (or second one) -> line
    external_ids: dict[str, int] = field(default_factory=dict)  # -> line


def _prepared_chunks(people_import: Import, path: str, sniffed: Sniffed) -> Iterator[PreparedChunk]:
    """The file's chunks from the import's offset on, read and cleaned one chunk ahead in a
    thread while the caller writes the previous one: cleaning is Python and the writes are
    PostgreSQL (psycopg2 lets go of the GIL while it waits), so the two overlap on two cores.
    With one applier at most three chunks are alive at once (one written, one waiting, one
    being cleaned), with two about seven (two written, two in the appliers' inboxes, one
    handed over, one waiting, one being cleaned), so memory stays flat. Errors (FileProblem included) come out of the iterator as they would
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
                previous = None
                for chunk in _chunks(path, sniffed, skip=people_import.offset):
                    previous = _prepare(people_import, chunk, custom, previous)
                    if not put(previous):
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
    people_import: Import,
    chunk: RawChunk,
    custom: dict[str, CustomSpec] | None = None,
    previous: PreparedChunk | None = None,
) -> PreparedChunk:
    """Clean a chunk's rows and reject the ones that repeat an earlier row of the chunk, or a
    row of the `previous` chunk (no database access when `custom` is given: this runs in the
    reading thread).

    The previous chunk's rows count through their match keys, the second address or number
    of the same kind (a row matches a person by it too) and their external ids: two
    neighbouring chunks, which may be applied at once, then never meet on one person through
    the file's own rows."""
    cleaner = cleaner_for(people_import, custom)
    width = len(people_import.headers)
    rule = people_import.match_rule
    good: list[CleanRow] = []
    rejected: list[tuple[int, str, list[str] | None]] = []
    blank = 0
    first_line: dict[str, int] = {}
    external_ids: dict[str, int] = {}
    earlier_keys = previous.keys if previous is not None else {}
    earlier_external_ids = previous.external_ids if previous is not None else {}
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
            earlier = first_line.get(key) or earlier_keys.get(key)
            if earlier is not None:
                rejected.append(
                    (
                        line,
                        _("duplicate: same %(identifier)s as line %(line)s")
                        % {"identifier": _identifier(rule), "line": earlier},
                        cells,
                    )
                )
                continue
            first_line[key] = line
        if row.external_id and rule != "external_id":
            earlier = external_ids.get(row.external_id) or earlier_external_ids.get(row.external_id)
            if earlier is not None:
                rejected.append(
                    (
                        line,
                        _("duplicate: same external id as line %(line)s") % {"line": earlier},
                        cells,
                    )
                )
                continue
            external_ids[row.external_id] = line
        good.append(row)
    copy_text = rows_copy_text(good, lambda row: _key(row, rule))
    # What the next chunk must not repeat. A second address (or number) goes in after the
    # keys so that a key keeps its own line; inside one chunk it is not a duplicate (as
    # person_upsert, which matches by the first identifier only).
    keys = dict(first_line)
    second = {"email": "email2", "phone": "phone2"}.get(rule)
    if second:
        for row in good:
            value = getattr(row, second)
            if value:
                keys.setdefault(value, row.line)
    if rule == "external_id":
        external_ids = {}
    return PreparedChunk(chunk, good, rejected, blank, copy_text, keys, external_ids)


def _apply(
    import_id: int, prepared: PreparedChunk | RawChunk, *, skip_fk_triggers: bool = False
) -> None:
    chunk = prepared.raw if isinstance(prepared, PreparedChunk) else prepared
    with transaction.atomic():
        # The row lock makes a second worker on the same import wait, then see the new offset.
        people_import = Import.objects.select_for_update().get(pk=import_id)
        if people_import.offset != chunk.start or people_import.status != Import.Status.RUNNING:
            raise ImportNotReady(_("Another worker is running this import."))
        if isinstance(prepared, RawChunk):
            prepared = _prepare(people_import, prepared)
        result = _apply_prepared(people_import, prepared, skip_fk_triggers=skip_fk_triggers)
        _record_chunk(people_import, prepared, result)


def _apply_prepared(
    people_import: Import, prepared: PreparedChunk, *, skip_fk_triggers: bool
) -> ChunkResult:
    """apply_chunk with the import's rules, in the caller's transaction."""
    rule = people_import.match_rule
    return apply_chunk(
        prepared.good,
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


def _record_chunk(people_import: Import, prepared: PreparedChunk, result: ChunkResult) -> None:
    """The chunk's rejections and counters, and the import's new offset (in the chunk's
    transaction, under the import's row lock)."""
    chunk = prepared.raw
    rejected = list(prepared.rejected)
    by_line = {line: cells for line, cells in chunk.records}
    rejected += [(line, reason, by_line.get(line)) for line, reason in result.rejected]
    ImportRejection.objects.bulk_create(
        [
            ImportRejection(
                people_import_id=people_import.pk,
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
    people_import.skipped += result.skipped + prepared.blank
    people_import.rejected += len(rejected)
    people_import.heartbeat_at = timezone.now()
    people_import.save(
        update_fields=["offset", "created", "updated", "skipped", "rejected", "heartbeat_at"]
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
