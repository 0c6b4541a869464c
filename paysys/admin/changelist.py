"""Changelists that never count: on a table of millions of rows ``COUNT(*)`` reads every row.

Django's changelist counts the filtered rows for its paginator ("1 2 … 40,000" and "N
payments") on every page. ``UncountedChangeListMixin`` pages instead with one query fetching
one row more than a page holds: that row says whether there is a next page. The page shows
"previous / page N / next" and no totals; an operator narrows a list with search and filters,
never by paging to the end.
"""

from django.contrib.admin import ShowFacets
from django.contrib.admin.views.main import PAGE_VAR, SEARCH_VAR, ChangeList
from django.http import HttpRequest

UNCOUNTED_CHANGE_LIST_TEMPLATE = "admin/paysys/uncounted_change_list.html"


class UncountedChangeList(ChangeList):
    search_var = SEARCH_VAR

    def get_results(self, request: HttpRequest) -> None:
        self.page_num = max(self.page_num, 1)
        per_page = self.list_per_page
        start = (self.page_num - 1) * per_page
        rows = list(self.queryset[start : start + per_page + 1])
        self.has_next_page = len(rows) > per_page
        self.result_list = rows[:per_page]
        # What this page knows: the rows up to its last one (the admin's templates read it).
        self.result_count = start + len(self.result_list)
        self.full_result_count = None
        self.show_full_result_count = False
        self.show_admin_actions = True
        self.can_show_all = False
        self.multi_page = self.has_next_page or self.page_num > 1
        self.paginator = None
        self.previous_page_url = self.get_query_string({PAGE_VAR: self.page_num - 1})
        self.next_page_url = self.get_query_string({PAGE_VAR: self.page_num + 1})


class UncountedChangeListMixin:
    change_list_template = UNCOUNTED_CHANGE_LIST_TEMPLATE
    show_full_result_count = False
    # Facets count the rows of every filter choice.
    show_facets = ShowFacets.NEVER
    # Its "select all N" offers the count this changelist does not take.
    actions_selection_counter = False

    def get_changelist(self, request: HttpRequest, **kwargs) -> type[ChangeList]:
        return UncountedChangeList
