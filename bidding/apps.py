from django.apps import AppConfig


class BiddingConfig(AppConfig):
    name = "bidding"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from bidding.selectors import sealed_files_in_use
        from bidding.services.submission import PREFIX
        from core import storage

        storage.register(PREFIX, sealed_files_in_use)
