from django.apps import AppConfig


class AgenciesConfig(AppConfig):
    name = "agencies"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from agencies.selectors import qualification_files_in_use
        from agencies.services.registration import QUALIFICATION_PREFIX
        from core import storage

        storage.register(QUALIFICATION_PREFIX, qualification_files_in_use)
