from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class SearchConfig(AppConfig):
    name = "search"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Each app declares what it indexes in its search_documents module; then the signals that
        # keep the indexes in step are connected.
        autodiscover_modules("search_documents")
        from search import indexing

        indexing.connect()
