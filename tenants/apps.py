from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = _("Nations and accounts")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from .models import Domain, Nation
        from .routing import forget_on_change

        # Like django.contrib.sites' SITE_CACHE: any saved or deleted Nation or Domain row (a
        # settings form, an admin, a test) makes the per-process host cache ask again. Queryset
        # updates send no signal; the actions that use them call routing_changed() themselves.
        for model in (Nation, Domain):
            post_save.connect(
                forget_on_change, sender=model, dispatch_uid=f"routing-{model.__name__}"
            )
            post_delete.connect(
                forget_on_change, sender=model, dispatch_uid=f"routing-{model.__name__}-del"
            )
