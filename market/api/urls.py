from django.urls import path

from market.api import views as v

urlpatterns = [
    path("me/", v.Me.as_view(), name="me"),
    path("profiles/", v.RuleProfileList.as_view(), name="profile-list"),
    path("tenders/", v.TenderListCreate.as_view(), name="tender-list"),
    path("tenders/<int:pk>/", v.TenderDetail.as_view(), name="tender-detail"),
    path("tenders/<int:pk>/attachments/", v.TenderAttachments.as_view(), name="tender-attachments"),
    path(
        "tenders/<int:pk>/attachments/<int:attachment_id>/",
        v.TenderAttachmentDownload.as_view(),
        name="tender-attachment",
    ),
    path("tenders/<int:pk>/notices/", v.TenderNotices.as_view(), name="tender-notices"),
    path("notices/", v.NoticeList.as_view(), name="notice-list"),
    path("notices/<int:pk>/", v.NoticeDetail.as_view(), name="notice-detail"),
]
for _view in (v.TenderSubmit, v.TenderReturn, v.TenderResume):
    _name = _view.__name__.replace("_", "-")
    urlpatterns.append(path(f"tenders/<int:pk>/{_name}/", _view.as_view(), name=f"tender-{_name}"))
