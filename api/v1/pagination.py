from rest_framework.pagination import CursorPagination


class CursorByIdPagination(CursorPagination):
    """Stable, index-friendly paging: the cost of a page does not grow with its depth."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
