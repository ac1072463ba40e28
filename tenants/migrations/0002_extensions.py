from django.contrib.postgres.operations import TrigramExtension, UnaccentExtension
from django.db import migrations


class Migration(migrations.Migration):
    """Extensions live in `public`, on every nation's search path: trigram search of people."""

    dependencies = [("tenants", "0001_initial")]

    operations = [TrigramExtension(), UnaccentExtension()]
