"""`migrate_schemas`, which also keeps the template schema migrated with the fleet.

New nations are clones of the template (tenants/provisioning.py), so a migration that reached
every nation but not the template would be missing from every nation created afterwards."""

from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand


class Command(MigrateSchemasCommand):
    def handle(self, *args, **options):
        super().handle(*args, **options)
        if self.sync_tenant and self.schema_name in (None, "", "public"):
            from tenants.provisioning import ensure_template

            ensure_template(verbosity=options.get("verbosity", 1))
