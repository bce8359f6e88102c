from django.urls import path

from bidding.api import views as v

urlpatterns = [
    path("tenders/<int:pk>/bids/", v.TenderBids.as_view(), name="tender-bids"),
    path("bids/<int:pk>/withdraw/", v.BidWithdraw.as_view(), name="bid-withdraw"),
    path("tenders/<int:pk>/opening/share/", v.OpeningShare.as_view(), name="opening-share"),
    path("tenders/<int:pk>/opening/record/", v.OpeningRecordView.as_view(), name="opening-record"),
    path("tenders/<int:pk>/evaluation/", v.EvaluationView.as_view(), name="evaluation"),
    path("tenders/<int:pk>/evaluation/scores/", v.EvaluationScores.as_view(), name="evaluation-scores"),
    path("tenders/<int:pk>/evaluation/disqualify/", v.EvaluationDisqualify.as_view(), name="evaluation-disqualify"),
    path("tenders/<int:pk>/evaluation/conclude/", v.EvaluationConclude.as_view(), name="evaluation-conclude"),
    path("tenders/<int:pk>/evaluation/pick/", v.DirectPick.as_view(), name="evaluation-pick"),
]
