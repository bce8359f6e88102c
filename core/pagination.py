from rest_framework.pagination import CursorPagination


class NewestFirstCursorPagination(CursorPagination):
    """Cursor pagination on (created, id): stable under inserts, no COUNT(*), no deep OFFSET."""

    ordering = ("-id",)
    page_size = 20
    max_page_size = 100
    page_size_query_param = "page_size"
