from .migrate_schemas import Command  # noqa: F401 - `migrate` means migrate_schemas here
