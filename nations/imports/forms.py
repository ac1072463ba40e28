from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .columns import MULTIPLE, TARGETS, import_targets
from .models import DateOrder, MatchRule, OnMatch

MAX_UPLOAD = 2 * 1024 * 1024 * 1024  # 2 GB; a million rows of a NationBuilder export is ~400 MB


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "CSV (comma, semicolon or tab separated; any encoding) or Excel (.xlsx). The first"
            " line names the columns. Exports of NationBuilder and CiviCRM are recognised."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.tsv,.txt,.xlsx"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            raise forms.ValidationError(_("This file is over 2 GB. Split it into smaller files."))
        return upload


class MappingForm(forms.Form):
    """One menu per column, plus what to do with people who are already in the base."""

    match_rule = forms.ChoiceField(
        label=_("Recognise people already in the base by"), choices=MatchRule.choices
    )
    on_match = forms.ChoiceField(
        label=_("When a row is about someone already in the base"),
        choices=OnMatch.choices,
        widget=forms.RadioSelect,
    )
    date_order = forms.ChoiceField(
        label=_("Dates in this file are written"), choices=DateOrder.choices
    )
    extra_tags = forms.CharField(
        label=_("Tag everyone in this file with"),
        required=False,
        max_length=500,
        help_text=_("Optional; separate tags with commas."),
    )

    def __init__(self, *args, headers: list[str], samples: list[list[str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.headers = headers
        self.columns = []
        self.targets = import_targets()
        custom = [(k, v) for k, v in self.targets.items() if k not in TARGETS]
        choices = [("", _("— Don't import —")), *((k, v) for k, v in TARGETS.items())]
        if custom:
            choices.append((_("Custom fields"), custom))
        for index, header in enumerate(headers):
            name = f"col_{index}"
            self.fields[name] = forms.ChoiceField(label=header, choices=choices, required=False)
            examples = [r[index] for r in samples if index < len(r) and r[index].strip()][:3]
            self.columns.append((index, header, [e[:60] for e in examples], name))

    def column_fields(self):
        return [
            (index, header, examples, self[name]) for index, header, examples, name in self.columns
        ]

    def clean(self):
        data = super().clean()
        seen: dict[str, str] = {}
        mapping = {}
        for index, header, _examples, name in self.columns:
            target = data.get(name) or ""
            if not target:
                continue
            if target in seen and target not in MULTIPLE:
                self.add_error(
                    name,
                    _("“%(other)s” is already imported as %(target)s.")
                    % {"other": seen[target], "target": self.targets[target]},
                )
            seen.setdefault(target, header)
            mapping[str(index)] = target
        if not mapping:
            raise forms.ValidationError(_("Choose what at least one column holds."))
        rule = data.get("match_rule")
        if rule and rule not in seen:
            self.add_error(
                "match_rule",
                _("No column is imported as %(target)s: map one, or choose another rule.")
                % {"target": TARGETS[rule if rule != "external_id" else "external_id"]},
            )
        data["mapping"] = mapping
        data["tags"] = [t.strip() for t in (data.get("extra_tags") or "").split(",") if t.strip()]
        return data
