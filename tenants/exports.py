"""Exporting everything a nation owns into one zip: a CSV per table of its schema, plus its
public rows (nation, domains, staff) as JSON. Made before a nation is deleted."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from .models import Nation


def export_nation_data(nation: Nation) -> Path:
    root = Path(settings.NATIONS_EXPORT_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    path = root / f"{nation.schema_name}-{stamp}.zip"
    partial = path.with_suffix(".zip.partial")
    schema = nation.schema_name
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        manifest = {
            "nation": {
                "name": nation.name,
                "slug": nation.slug,
                "country": nation.country,
                "language": nation.language,
                "created_at": nation.created_at.isoformat(),
                "plan": nation.plan,
            },
            "domains": list(nation.domains.values("domain", "is_primary", "is_custom", "verified")),
            "staff": [
                {"email": m.user.email, "name": m.user.full_name, "role": m.role}
                for m in nation.memberships.select_related("user")
            ],
            "exported_at": timezone.now().isoformat(),
            "tables": [],
        }
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", [schema]
            )
            tables = [row[0] for row in cursor.fetchall()]
            raw = cursor.cursor  # psycopg2 cursor, for COPY
            for table in tables:
                buffer = io.BytesIO()
                raw.copy_expert(f'COPY "{schema}"."{table}" TO STDOUT WITH CSV HEADER', buffer)
                archive.writestr(f"tables/{table}.csv", buffer.getvalue())
                manifest["tables"].append(table)
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, default=str))
    partial.rename(path)
    return path
