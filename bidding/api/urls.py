from django.urls import path

from bidding.api import views as v

urlpatterns = [
    path("tenders/<int:pk>/bids/", v.TenderBids.as_view(), name="tender-bids"),
    path("bids/<int:pk>/withdraw/", v.BidWithdraw.as_view(), name="bid-withdraw"),
    path("tenders/<int:pk>/opening/record/", v.OpeningRecordView.as_view(), name="opening-record"),
    path("tenders/<int:pk>/evaluation/", v.EvaluationView.as_view(), name="evaluation"),
]
