"""What the isolation crawler needs to know about tenant URLs.

The crawler (test_crawler.py) requests every pattern of config.urls_tenant. A pattern with URL
parameters is reversed with values taken from the victim nation: register, for each parameter
name, a function returning the victim's values (ids of its private rows). A feature that adds
URLs with a new parameter registers it here; the crawler fails and names any parameter it
cannot fill, so no URL escapes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tenants.models import Domain, Membership

# parameter name -> f(victim NationWorld) -> values to try; called inside the victim's schema
KWARG_VALUES: dict[str, Callable[[Any], Iterable[Any]]] = {}


def register(name: str):
    def decorator(func):
        KWARG_VALUES[name] = func
        return func

    return decorator


@register("person_id")
def _person_ids(victim):
    return [p.pk for p in victim.markers]


@register("domain_id")
def _domain_ids(victim):
    return list(Domain.objects.filter(tenant=victim.nation).values_list("pk", flat=True))


@register("membership_id")
def _membership_ids(victim):
    return list(Membership.objects.filter(nation=victim.nation).values_list("pk", flat=True))


@register("job_id")
def _job_ids(victim):
    from nations.jobs.models import Job

    return list(Job.objects.values_list("pk", flat=True))


@register("action")
def _actions(victim):
    return ["verify", "primary", "remove", "publish", "unpublish", "delete"]


@register("uidb64")
def _uid(victim):
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    return [urlsafe_base64_encode(force_bytes(victim.owner.pk))]


@register("token")
def _token(victim):
    return ["set-password", "bogus-token"]


@register("slug")
def _page_slugs(victim):
    from nations.site.models import Page

    return list(Page.objects.values_list("slug", flat=True)[:5])


@register("path")
def _media_paths(victim):
    from nations.site.models import Media

    files = [f"{victim.nation.schema_name}/{m.file.name}" for m in Media.objects.all()[:3]]
    files = files or [f"{victim.nation.schema_name}/site/none.png"]
    return [*files, f"{victim.nation.schema_name}/{_victim_voice_message(victim)}"]


def _victim_voice_message(victim) -> str:
    """A voice message of the victim's, stored like a recorded or uploaded one (MEDIA_ROOT/
    <schema>/voice/…), with a marker in its bytes: no other nation may fetch it."""
    from django.core.files.base import ContentFile

    from nations.comms.models import Blast

    blast = Blast.objects.filter(channel="voice", name="victim recording").first()
    if blast is None:
        blast = Blast(channel="voice", name="victim recording", subject="", text="")
        marker = victim.markers[0].email.encode()
        blast.audio.save("victim.wav", ContentFile(b"RIFF\x00\x00\x00\x00WAVE" + marker))
    return blast.audio.name


@register("other_id")
def _other_person_ids(victim):
    return [p.pk for p in victim.markers]


@register("field_id")
def _custom_field_ids(victim):
    from nations.people.models import CustomField

    field, _ = CustomField.objects.get_or_create(
        slug="isolation_marker", defaults={"label": "Isolation marker", "kind": "text"}
    )
    return [field.pk]


@register("import_id")
def _import_ids(victim):
    from nations.imports.models import Import

    ids = list(Import.objects.values_list("pk", flat=True))
    if not ids:  # give the crawler a real import of the victim's to aim at
        first = victim.markers[0]
        ids = [
            Import.objects.create(
                file="imports/victim.csv",
                original_name=f"{first.first_name}.csv",
                headers=["email"],
                mapping={"0": "email"},
                status=Import.Status.FAILED,
                error=first.email,
            ).pk
        ]
    return ids


@register("page_id")
def _page_ids(victim):
    from nations.site.models import Page

    # Give the victim a draft and a published petition (in the test's transaction, before the
    # crawler's snapshot), so page URLs aim at real rows.
    Page.objects.get_or_create(
        slug="victim-draft", defaults={"kind": "petition", "title": "Victim draft"}
    )
    Page.objects.get_or_create(
        slug="victim-live",
        defaults={"kind": "petition", "title": "Victim live", "status": "published"},
    )
    Page.objects.get_or_create(
        slug="victim-survey", defaults={"kind": "survey", "title": "Victim survey"}
    )
    return list(Page.objects.filter(slug__startswith="victim-").values_list("pk", flat=True))


@register("name")
def _theme_file_names(victim):
    return ["page.liquid", "theme.css"]


@register("segment_id")
def _segment_ids(victim):
    from nations.people.models import Segment

    segment, _ = Segment.objects.get_or_create(
        name="Victim's private segment",
        defaults={"definition": {"conditions": [{"field": "city", "op": "eq", "value": "Lyon"}]}},
    )
    return [segment.pk]


@register("list_id")
def _list_ids(victim):
    from nations.people.models import ListMembership, PeopleList

    people_list, _ = PeopleList.objects.get_or_create(name="Victim's private list")
    for person in victim.markers:
        ListMembership.objects.get_or_create(people_list=people_list, person=person)
    return [people_list.pk]


def _victim_gifts(victim):
    """A paid gift, a recurring gift and a tax receipt of the victim's, carrying its marker."""
    from nations.donations.models import Donation, RecurringDonation, TaxReceipt

    first = victim.markers[0]
    recurring, _ = RecurringDonation.objects.get_or_create(
        stripe_subscription_id=f"sub_victim_{victim.nation.slug}",
        defaults={"person": first, "amount": 1000, "currency": "EUR", "interval": "month"},
    )
    gift, _ = Donation.objects.get_or_create(
        intent_key=f"victim-{victim.nation.slug}",
        defaults={
            "person": first,
            "recurring": recurring,
            "amount": 1000,
            "currency": "EUR",
            "status": "paid",
            "email": first.email,
            "first_name": first.first_name,
            "last_name": first.last_name,
        },
    )
    receipt, _ = TaxReceipt.objects.get_or_create(
        person=first,
        year=2020,
        defaults={
            "serial": 1,
            "number": "2020-00001",
            "amount": 1000,
            "currency": "EUR",
            "donor_name": first.first_name,
            "donor_address": first.email,
        },
    )
    return gift, recurring, receipt


@register("donation_id")
def _donation_ids(victim):
    return [_victim_gifts(victim)[0].pk]


@register("recurring_id")
def _recurring_ids(victim):
    return [_victim_gifts(victim)[1].pk]


@register("receipt_id")
def _receipt_ids(victim):
    return [_victim_gifts(victim)[2].pk]


@register("key")
def _donation_keys(victim):
    return [_victim_gifts(victim)[0].key]


@register("manage_token")
def _manage_tokens(victim):
    from nations.donations.signing import manage_token

    return [manage_token(_victim_gifts(victim)[1])]


@register("receipt_token")
def _tax_receipt_tokens(victim):
    """A valid link to the victim's tax receipt: signed for the victim's schema, it must open
    nothing on the attacker's host."""
    from nations.donations.signing import tax_receipt_token

    return [tax_receipt_token(_victim_gifts(victim)[2])]


def _victim_delivery(victim):
    """A sent email of the victim's (broadcaster, blast, delivery), made once per victim."""
    from nations.comms.models import Blast, Broadcaster, Delivery

    delivery = Delivery.objects.filter(blast__isnull=False).select_related("blast").first()
    if delivery is None:
        sender = Broadcaster.objects.create(name="Victim", from_email="victim@victim.example")
        blast = Blast.objects.create(
            broadcaster=sender, subject="Private", body_html="<p>x</p>", status="sent",
            links=["https://victim.example/private"],
        )  # fmt: skip
        delivery = Delivery.objects.create(
            blast=blast, person_id=victim.markers[0].pk, address=victim.markers[0].email,
            status="sent",
        )  # fmt: skip
    return delivery


@register("blast_id")
def _blast_ids(victim):
    from nations.comms.models import Blast

    _victim_voice_message(victim)  # a blast with a stored recording: its audio URL too
    recording = Blast.objects.get(channel="voice", name="victim recording")
    return [_victim_delivery(victim).blast_id, recording.pk]


@register("broadcaster_id")
def _broadcaster_ids(victim):
    return [_victim_delivery(victim).blast.broadcaster_id]


@register("link")
def _links(victim):
    return [0]


_password_tokens = KWARG_VALUES["token"]


@register("token")
def _tokens_with_tracking(victim):
    """Password-reset tokens, plus a tracking token (open, click, unsubscribe URLs) naming the
    victim's delivery but signed for another schema, as a nation's staff could mint one: it
    must open nothing on the victim's host. (A genuine victim token is the recipient's own
    key and may change things on A's host; tests/comms/test_recipients.py checks it is
    worthless on B's.)"""
    from nations.comms.tokens import make_token

    delivery = _victim_delivery(victim)
    return [*_password_tokens(victim), make_token("n_attacker", delivery.pk)]


@register("question_id")
def _survey_question_ids(victim):
    from nations.site.models import Page, SurveyQuestion

    survey, _ = Page.objects.get_or_create(
        slug="victim-survey", defaults={"kind": "survey", "title": "Victim survey"}
    )
    SurveyQuestion.objects.get_or_create(
        page=survey, label=f"Victim question {victim.markers[0].email}", defaults={"position": 1}
    )
    return list(SurveyQuestion.objects.values_list("pk", flat=True)[:3])


@register("channel")
def _phone_channels(victim):
    return ["sms", "voice"]


@register("call_token")
def _call_tokens(victim):
    """A voice-call token for the victim's delivery, signed for another schema (all the
    attacker's nation could mint): the victim's TwiML, key and audio URLs must refuse it."""
    from nations.comms.models import Blast, Delivery
    from nations.comms.tokens import make_token

    blast = Blast.objects.create(channel="voice", name="victim call", subject="", text="Victim")
    delivery = Delivery.objects.create(
        channel="voice", blast=blast, person_id=victim.markers[0].pk,
        address=victim.markers[0].phone, status="sent", provider_id="CA" + "9" * 32,
    )  # fmt: skip
    return [make_token("n_attacker", delivery.pk)]


def _victim_social(victim):
    """A connected account of the victim's and a post made through it (once per victim)."""
    from nations.social.models import PostTarget, SocialAccount, SocialPost

    account = SocialAccount.objects.first() or SocialAccount.objects.create(
        network="mastodon", handle="@victim@social.example", remote_id="1",
        instance_url="https://social.example", access_token="victim-secret-token",
    )  # fmt: skip
    post = SocialPost.objects.first()
    if post is None:
        post = SocialPost.objects.create(text="Victim's private post", status="scheduled")
        PostTarget.objects.create(post=post, account=account, text=post.text)
    return account, post


@register("social_account_id")
def _social_account_ids(victim):
    return [_victim_social(victim)[0].pk]


@register("social_post_id")
def _social_post_ids(victim):
    return [_victim_social(victim)[1].pk]


def _victim_automation(victim):
    """An automation of the victim's with a step and an enrolled marker, made once per victim."""
    from nations.automations.models import Automation, Enrolment, Step

    automation = Automation.objects.first()
    if automation is None:
        automation = Automation.objects.create(name="Private path", trigger_tag="private")
        step = Step.objects.create(
            automation=automation, position=1, kind="tag", config={"tag": "x"}
        )
        Enrolment.objects.create(automation=automation, person=victim.markers[0], step=step)
    return automation


@register("automation_id")
def _automation_ids(victim):
    return [_victim_automation(victim).pk]


@register("step_id")
def _step_ids(victim):
    return list(_victim_automation(victim).steps.values_list("pk", flat=True))
