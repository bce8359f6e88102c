from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class SearchConfig(AppConfig):
    name = "search"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Each app declares what it indexes in its search_documents module; then the signals that
        # keep the indexes in step are connected.
        autodiscover_modules("search_documents")
        from django.db.models.signals import post_migrate

        from search import indexing
        from search.backends import fulltext

        indexing.connect()
        # After every migrate: the full-text structures each type needs, and an index built with its layout.
        post_migrate.connect(fulltext.on_post_migrate, sender=self, dispatch_uid="search-ensure-index")
