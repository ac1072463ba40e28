"""A blast's report: outcome counts, per-link clicks, and opens/clicks over time as an SVG
line chart (server-rendered; the two lines differ by dash and label, not colour alone)."""

from __future__ import annotations

from datetime import timedelta
from html import escape

from django.db.models import Count
from django.db.models.functions import TruncHour
from django.utils import formats
from django.utils.translation import gettext as _

from .models import Blast, Delivery, DeliveryEvent


def blast_report(blast: Blast) -> dict:
    statuses = dict(
        Delivery.objects.filter(blast=blast)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    events = dict(
        DeliveryEvent.objects.filter(blast_id=blast.pk)
        .values_list("kind")
        .annotate(n=Count("delivery_id", distinct=True))
        .order_by()
    )
    sent = statuses.get(Delivery.Status.SENT, 0)
    bounced = events.get(DeliveryEvent.Kind.BOUNCED, 0)
    delivered = max(0, sent - bounced)
    clicks = dict(
        DeliveryEvent.objects.filter(blast_id=blast.pk, kind=DeliveryEvent.Kind.CLICKED)
        .values_list("link")
        .annotate(n=Count("id"))
        .order_by()
    )
    links = [
        {"url": url, "clicks": clicks.get(i, 0), "rate": _pct(clicks.get(i, 0), delivered)}
        for i, url in enumerate(blast.links or [])
    ]

    def figure(label, value, of=None):
        return {"label": label, "value": value, "rate": _pct(value, of) if of is not None else ""}

    return {
        "figures": [
            figure(_("Sent"), sent),
            figure(_("Delivered"), delivered, sent),
            figure(_("Opened"), events.get(DeliveryEvent.Kind.OPENED, 0), delivered),
            figure(_("Clicked"), events.get(DeliveryEvent.Kind.CLICKED, 0), delivered),
            figure(_("Unsubscribed"), events.get(DeliveryEvent.Kind.UNSUBSCRIBED, 0), delivered),
            figure(_("Bounced"), bounced, sent),
            figure(_("Marked as spam"), events.get(DeliveryEvent.Kind.COMPLAINED, 0), sent),
            figure(_("Failed"), statuses.get(Delivery.Status.FAILED, 0), blast.total),
            figure(
                _("Not sent (unsubscribed, bounced or cancelled since)"),
                statuses.get(Delivery.Status.SKIPPED, 0)
                + statuses.get(Delivery.Status.CANCELLED, 0),
            ),
        ],
        "links": links,
        "chart": timeline_chart(blast),
        "ab": ab_report(blast),
    }


def ab_report(blast: Blast) -> dict | None:
    """Both subjects of an A/B test side by side, and the winner once picked."""
    if not blast.is_ab:
        return None
    from .abtest import variant_figures

    figures = variant_figures(blast)
    variants = []
    for key, subject in (("a", blast.subject), ("b", blast.subject_b)):
        group = figures[key]
        variants.append(
            {
                "label": key.upper(),
                "subject": subject,
                "sent": group["sent"],
                "opened": group["opened"],
                "open_rate": _pct(group["opened"], group["sent"]),
                "clicked": group["clicked"],
                "click_rate": _pct(group["clicked"], group["sent"]),
                "winner": blast.ab_winner == key,
            }
        )
    held = Delivery.objects.filter(blast=blast, status=Delivery.Status.HELD).count()
    return {
        "variants": variants,
        "winner": blast.ab_winner.upper(),
        "decide_at": blast.ab_decide_at,
        "metric": blast.get_ab_metric_display(),
        "held": held,
    }


def _pct(value: int, of: int | None) -> str:
    if not of:
        return "—"
    return f"{value * 100 / of:.1f} %"


def timeline_series(blast: Blast) -> tuple[list, dict[str, list[int]]]:
    rows = (
        DeliveryEvent.objects.filter(
            blast_id=blast.pk, kind__in=(DeliveryEvent.Kind.OPENED, DeliveryEvent.Kind.CLICKED)
        )
        .annotate(hour=TruncHour("at"))
        .values_list("hour", "kind")
        .annotate(n=Count("id"))
        .order_by("hour")
    )
    data: dict = {}
    for hour, kind, n in rows:
        data.setdefault(hour, {})[kind] = n
    if not data:
        return [], {}
    start, end = min(data), max(data)
    hours = []
    moment = start
    while moment <= end and len(hours) < 24 * 14:
        hours.append(moment)
        moment += timedelta(hours=1)
    series = {}
    for kind in (DeliveryEvent.Kind.OPENED, DeliveryEvent.Kind.CLICKED):
        total, points = 0, []
        for hour in hours:
            total += data.get(hour, {}).get(kind, 0)
            points.append(total)
        series[kind] = points
    return hours, series


def timeline_chart(blast: Blast) -> str:
    hours, series = timeline_series(blast)
    if not hours:
        return ""
    width, height, left, bottom, top, right = 640, 220, 48, 28, 14, 96
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(max(points) for points in series.values()) or 1
    n = max(1, len(hours) - 1)
    title = _("Opens and clicks over time (cumulative, by hour)")
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}"'
        ' xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#9ca3af"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="11">{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="11">0</text>',
    ]
    labels = {DeliveryEvent.Kind.OPENED: _("Opened"), DeliveryEvent.Kind.CLICKED: _("Clicked")}
    styles = {
        DeliveryEvent.Kind.OPENED: 'stroke="var(--c-primary, #3730a3)" stroke-width="2.5"',
        DeliveryEvent.Kind.CLICKED: 'stroke="#b45309" stroke-width="2.5" stroke-dasharray="6 4"',
    }
    for kind, points in series.items():
        coords = [
            (left + plot_w * i / n, top + plot_h - plot_h * value / peak)
            for i, value in enumerate(points)
        ]
        if len(coords) == 1:
            coords.append((left + plot_w, coords[0][1]))
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline fill="none" {styles[kind]} points="{path}"/>')
        x, y = coords[-1]
        parts.append(
            f'<text x="{x + 6:.1f}" y="{y + 4:.1f}" font-size="12">{escape(labels[kind])} {points[-1]}</text>'
        )
    for index in sorted({0, len(hours) - 1}):
        x = left + plot_w * index / n
        label = formats.date_format(hours[index], "SHORT_DATETIME_FORMAT")
        anchor = "start" if index == 0 else "end"
        parts.append(
            f'<text x="{x:.1f}" y="{height - 8}" text-anchor="{anchor}" font-size="11">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


# --- SMS and voice -----------------------------------------------------------------------------
OUTCOME_LABELS = {
    "delivered": _("Delivered"),
    "undelivered": _("Undelivered"),
    "failed": _("Failed"),
    "sent": _("Sent (no delivery report yet)"),
    "answered": _("Answered"),
    "voicemail": _("Voicemail"),
    "no-answer": _("No answer"),
    "busy": _("Busy"),
}


def phone_report(blast: Blast) -> dict:
    """Outcome counts of an SMS or voice blast, why rows were not sent, and (voice) the people
    who pressed 9. The same Delivery rows as email, read by outcome instead of opens."""
    rows = Delivery.objects.filter(blast=blast)
    statuses = dict(rows.values_list("status").annotate(n=Count("id")).order_by())
    outcomes = dict(
        rows.filter(status=Delivery.Status.SENT)
        .values_list("outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    sent = statuses.get(Delivery.Status.SENT, 0)
    keys = (
        ["delivered", "undelivered", "failed"]
        if blast.channel == "sms"
        else ["answered", "voicemail", "no-answer", "busy", "failed"]
    )
    figures = [
        {"label": _("Sent") if blast.channel == "sms" else _("Called"), "value": sent, "rate": ""}
    ]
    figures += [
        {
            "label": OUTCOME_LABELS[k],
            "value": outcomes.get(k, 0),
            "rate": _pct(outcomes.get(k, 0), sent),
        }
        for k in keys
    ]
    waiting = outcomes.get("", 0) + outcomes.get("sent", 0)
    if blast.channel == "voice":
        from nations.people.models import ConsentChange

        pressed = ConsentChange.objects.filter(
            source="voice:press-9",
            person_id__in=rows.filter(status=Delivery.Status.SENT).values("person_id"),
        ).count()
        figures.append(
            {
                "label": _("Pressed 9 (never call again)"),
                "value": pressed,
                "rate": _pct(pressed, sent),
            }
        )
    figures.append({"label": _("Waiting for a report"), "value": waiting, "rate": ""})
    figures.append(
        {"label": _("Failed to send"), "value": statuses.get(Delivery.Status.FAILED, 0), "rate": ""}
    )
    reasons = list(
        rows.filter(status__in=(Delivery.Status.SKIPPED, Delivery.Status.FAILED))
        .values_list("error")
        .annotate(n=Count("id"))
        .order_by("-n")[:10]
    )
    return {"figures": figures, "reasons": reasons}
