from django.urls import path

from procurement.api import views as v

urlpatterns = [
    path("tenders/<int:pk>/objections/", v.TenderObjections.as_view(), name="tender-objections"),
    path("objections/<int:pk>/answer/", v.ObjectionAnswer.as_view(), name="objection-answer"),
    path("tenders/<int:pk>/opening/share/", v.OpeningShare.as_view(), name="opening-share"),
    path("bids/<int:pk>/release/", v.BidRelease.as_view(), name="bid-release"),
    path("tenders/<int:pk>/evaluation/scores/", v.EvaluationScores.as_view(), name="evaluation-scores"),
    path("tenders/<int:pk>/evaluation/disqualify/", v.EvaluationDisqualify.as_view(), name="evaluation-disqualify"),
    path("tenders/<int:pk>/evaluation/conclude/", v.EvaluationConclude.as_view(), name="evaluation-conclude"),
    path("tenders/<int:pk>/evaluation/pick/", v.DirectPick.as_view(), name="evaluation-pick"),
]
for _view in (
    v.TenderApprove,
    v.TenderCancel,
    v.TenderAmend,
    v.TenderSuspend,
    v.TenderFailEvaluation,
    v.TenderRecordContract,
    v.TenderComplete,
):
    _name = _view.__name__.replace("_", "-")
    urlpatterns.append(path(f"tenders/<int:pk>/{_name}/", _view.as_view(), name=f"tender-{_name}"))
