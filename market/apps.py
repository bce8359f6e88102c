from django.apps import AppConfig


class MarketConfig(AppConfig):
    name = "market"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core import storage
        from market.selectors import attachment_files_in_use
        from market.services.attachments import PREFIX

        storage.register(PREFIX, attachment_files_in_use)
