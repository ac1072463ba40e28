"""Survey questions move from a JSON list on the page (typed one per line in the panel) to rows
that the panel's question builder adds, edits, reorders and removes one by one.

Existing surveys keep their questions, in order, with their type, options and "required"; the
answers already given are stored under the question's wording and need no change."""

import django.db.models.deletion
from django.db import migrations, models

KINDS = {"short", "long", "single", "multiple"}


def questions_to_rows(apps, schema_editor):
    Page = apps.get_model("site", "Page")
    SurveyQuestion = apps.get_model("site", "SurveyQuestion")
    rows = []
    for page_id, questions in Page.objects.exclude(questions=[]).values_list("id", "questions"):
        for position, q in enumerate(questions or []):
            if not isinstance(q, dict) or not str(q.get("label", "")).strip():
                continue
            kind = q.get("kind") if q.get("kind") in KINDS else "short"
            choices = [str(c)[:200] for c in q.get("choices") or [] if str(c).strip()]
            rows.append(
                SurveyQuestion(
                    page_id=page_id,
                    position=position,
                    kind=kind,
                    label=str(q["label"])[:300],
                    choices=choices if kind in ("single", "multiple") else [],
                    required=bool(q.get("required")),
                )
            )
    SurveyQuestion.objects.bulk_create(rows)


def rows_to_questions(apps, schema_editor):
    Page = apps.get_model("site", "Page")
    SurveyQuestion = apps.get_model("site", "SurveyQuestion")
    by_page: dict[int, list] = {}
    for q in SurveyQuestion.objects.order_by("page_id", "position", "id"):
        by_page.setdefault(q.page_id, []).append(
            {
                "id": len(by_page.get(q.page_id, [])) + 1,
                "kind": q.kind,
                "label": q.label,
                "choices": q.choices,
                "required": q.required,
            }
        )
    for page_id, questions in by_page.items():
        Page.objects.filter(pk=page_id).update(questions=questions)


class Migration(migrations.Migration):
    dependencies = [
        ("site", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="SurveyQuestion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("position", models.PositiveIntegerField(default=0)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("short", "Short text"),
                            ("long", "Long text"),
                            ("single", "Single choice"),
                            ("multiple", "Multiple choice"),
                        ],
                        default="short",
                        max_length=10,
                        verbose_name="type",
                    ),
                ),
                ("label", models.CharField(max_length=300, verbose_name="question")),
                ("choices", models.JSONField(blank=True, default=list, verbose_name="options")),
                ("required", models.BooleanField(default=False, verbose_name="required")),
                (
                    "page",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="survey_questions",
                        to="site.page",
                    ),
                ),
            ],
            options={"ordering": ["position", "id"]},
        ),
        migrations.RunPython(questions_to_rows, rows_to_questions),
        migrations.RemoveField(model_name="page", name="questions"),
    ]
