"""Give the demo nation a website: settings, a petition, an event, a signup page, a survey and
a menu; and what staff try next: a sender and an automation that thanks the petition's signers
(idempotent; run by `make run` after seed_demo)."""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone
from django_tenants.utils import tenant_context

from nations.site.actions import menu_replace, page_publish, page_save, survey_question_save
from nations.site.models import Page, SiteSettings
from tenants.models import Nation

PAGES = [
    {
        "kind": "petition",
        "slug": "pistes-cyclables",
        "title": "Des pistes cyclables sûres sur tout le boulevard",
        "intro": "Chaque matin, des centaines d'enfants traversent le boulevard à vélo.",
        "body": "<p>Nous demandons une piste cyclable protégée sur toute la longueur du boulevard, "
        "avant la rentrée.</p><h2>Pourquoi maintenant</h2><p>Les travaux de voirie commencent "
        "en juin : c'est le moment de les faire bien.</p>",
        "target": "Madame la Maire",
        "goal": 1000,
        "show_signers": True,
        "tags": ["pétition:vélo", "mobilité"],
        "consent_wording": "Je veux recevoir les nouvelles de la campagne par email.",
    },
    {
        "kind": "event",
        "slug": "reunion-publique",
        "title": "Réunion publique : le quartier à vélo",
        "intro": "Venez partager vos idées et rencontrer l'équipe.",
        "body": "<p>Entrée libre, café offert. Accessible en fauteuil roulant.</p>",
        "venue": "Maison des associations",
        "address": "12 rue de la République, 69001 Lyon",
        "map_url": "https://www.openstreetmap.org/search?query=69001%20Lyon",
        "capacity": 80,
        "event_timezone": "Europe/Paris",
        "tags": ["événement:réunion"],
    },
    {
        "kind": "signup",
        "slug": "rejoindre",
        "title": "Rejoignez-nous",
        "intro": "Recevez les nouvelles et les prochains rendez-vous.",
        "body": "<p>Une lettre par mois, pas plus. Désinscription en un clic.</p>",
        "tags": ["newsletter"],
    },
    {
        "kind": "survey",
        "slug": "consultation",
        "title": "Votre avis sur le boulevard",
        "intro": "Trois minutes pour nous dire ce qui doit changer.",
        "body": "<p>Vos réponses guident nos propositions au conseil de quartier.</p>",
        "tags": ["consultation:boulevard"],
        "questions": [
            {
                "kind": "single",
                "label": "Comment traversez-vous le boulevard le plus souvent ?",
                "choices": ["À pied", "À vélo", "En voiture", "En bus"],
                "required": True,
            },
            {
                "kind": "multiple",
                "label": "Qu'est-ce qui vous manque le plus ?",
                "choices": [
                    "Une piste protégée",
                    "Des passages piétons",
                    "Des arbres",
                    "Des bancs",
                ],
            },
            {"kind": "long", "label": "Une idée, une remarque ?"},
        ],
    },
    {
        "kind": "basic",
        "slug": "qui-sommes-nous",
        "title": "Qui sommes-nous ?",
        "intro": "Des habitantes et habitants qui veulent un quartier plus calme.",
        "body": "<p>Notre association est née en 2024 autour d'une idée simple : "
        "se déplacer sans danger.</p>",
    },
]


class Command(BaseCommand):
    help = "Seed the demo nation's website (idempotent)."

    def handle(self, *args, **options):
        nation = Nation.objects.filter(slug="demo").first()
        if nation is None:
            self.stdout.write("no demo nation: run seed_demo first")
            return
        with tenant_context(nation):
            SiteSettings.objects.get_or_create(
                pk=1,
                defaults={
                    "title": nation.name,
                    "tagline": "Pour un quartier où l'on circule en sécurité",
                    "language": nation.language,
                    "time_zone": "Europe/Paris",
                    "primary_colour": "#14532d",
                    "accent_colour": "#c2410c",
                },
            )
            created = []
            for spec in PAGES:
                if Page.objects.filter(slug=spec["slug"]).exists():
                    continue
                data = dict(spec)
                questions = data.pop("questions", [])
                if data["kind"] == "event":
                    start = (timezone.now() + timedelta(days=10)).replace(
                        hour=17, minute=0, second=0, microsecond=0
                    )
                    data.update(starts_at=start, ends_at=start + timedelta(hours=2))
                page = page_save(page=Page(), data=data)
                for question in questions:
                    survey_question_save(page=page, **question)
                page_publish(page=page)
                created.append(page)
            if created:
                by_slug = {p.slug: p for p in Page.objects.all()}
                menu_replace(
                    items=[
                        ("Pétition", by_slug.get("pistes-cyclables"), ""),
                        ("Agenda", None, "/events/"),
                        ("Rejoindre", by_slug.get("rejoindre"), ""),
                        ("Consultation", by_slug.get("consultation"), ""),
                        ("Qui sommes-nous ?", by_slug.get("qui-sommes-nous"), ""),
                    ]
                )
                self.stdout.write(self.style.SUCCESS(f"demo site: {len(created)} pages"))
            self._automation(nation)

    def _automation(self, nation) -> None:
        """A sender, and "thank the signers": signed the petition -> wait a day -> an email ->
        a tag. Turned on, so a signature on the demo site shows the whole path."""
        from nations.automations.actions import (
            AutomationError,
            automation_activate,
            automation_save,
            step_add,
        )
        from nations.automations.models import Automation
        from nations.comms.actions import broadcaster_save
        from nations.comms.models import Broadcaster

        sender = Broadcaster.objects.order_by("pk").first() or broadcaster_save(
            name=f"L'équipe {nation.name}",
            from_email=f"equipe@{nation.slug}.localhost",
            postal_address="12 rue de la République, 69001 Lyon",
        )
        petition = Page.objects.filter(slug="pistes-cyclables").first()
        if petition is None or Automation.objects.filter(trigger_page=petition).exists():
            return
        automation = automation_save(
            name="Merci aux signataires de la pétition vélo",
            trigger=Automation.Trigger.PAGE,
            trigger_page=petition,
        )
        step_add(automation=automation, kind="wait", config={"days": 1, "hours": 0})
        step_add(
            automation=automation,
            kind="email",
            config={
                "broadcaster": sender.pk,
                "subject": "Merci {{ person.first_name | default: 'à vous' }} !",
                "body": "<p>Bonjour {{ person.first_name | default: '' }},</p><p>Merci d'avoir"
                " signé pour des pistes cyclables sûres. Prochaine étape : la réunion publique."
                "</p>",
            },
        )
        step_add(automation=automation, kind="tag", config={"tag": "signataire remercié"})
        try:
            automation_activate(automation=automation)
        except AutomationError as error:  # left as a draft, with the reason shown in the panel
            self.stdout.write(f"demo automation left as a draft: {error}")
