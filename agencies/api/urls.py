from django.urls import path

from agencies.api import views as v

urlpatterns = [
    # public
    path("agencies/register/", v.Register.as_view(), name="agency-register"),
    path("public/agencies/", v.Directory.as_view(), name="agency-directory"),
    path("public/agencies/<str:uscc>/", v.DirectoryDetail.as_view(), name="agency-directory-detail"),
    path("public/agencies/<str:uscc>/certificates/", v.AgencyCertificates.as_view(), name="agency-certificates"),
    path("public/certificates/<str:serial>/", v.CertificateDetail.as_view(), name="certificate-detail"),
    path("public/ca/", v.CaCertificate.as_view(), name="ca-certificate"),
    path("public/ca/crl/", v.CaRevocationList.as_view(), name="ca-crl"),
    path("public/credit-lists/", v.PublicCreditList.as_view(), name="credit-lists"),
    path("public/credit-event-kinds/", v.EventKinds.as_view(), name="credit-event-kinds"),
    # the agency itself
    path("agencies/me/", v.MyAgency.as_view(), name="agency-me"),
    path("agencies/me/reapply/", v.MyReapply.as_view(), name="agency-reapply"),
    path("agencies/me/qualifications/", v.MyQualifications.as_view(), name="agency-qualifications"),
    path(
        "agencies/me/qualifications/<int:pk>/withdraw/",
        v.MyQualificationWithdraw.as_view(),
        name="agency-qualification-withdraw",
    ),
    path("agencies/me/certificates/", v.MyCertificates.as_view(), name="agency-certificates-own"),
    path("agencies/me/credit/", v.MyCredit.as_view(), name="agency-credit"),
    # key holders, and revocation by owner or operator
    path("keys/", v.KeyHolderKeys.as_view(), name="key-holder-keys"),
    path("certificates/<str:serial>/revoke/", v.CertificateRevoke.as_view(), name="certificate-revoke"),
    # staff
    path("agencies/", v.StaffAgencies.as_view(), name="agency-list"),
    path("agencies/<int:pk>/", v.StaffAgencyDetail.as_view(), name="agency-detail"),
    path("credit/events/", v.CreditEvents.as_view(), name="credit-events"),
    path("credit/events/<int:pk>/annul/", v.CreditEventAnnul.as_view(), name="credit-event-annul"),
    path("credit/list-entries/", v.ListEntries.as_view(), name="list-entries"),
    path("credit/list-entries/<int:pk>/decide/", v.ListEntryDecide.as_view(), name="list-entry-decide"),
    path("credit/list-entries/<int:pk>/dismiss/", v.ListEntryDismiss.as_view(), name="list-entry-dismiss"),
    path("credit/list-entries/<int:pk>/revoke/", v.ListEntryRevoke.as_view(), name="list-entry-revoke"),
    path("credit/evaluations/", v.Evaluations.as_view(), name="evaluations"),
    path("credit/evaluations/<int:pk>/approve/", v.EvaluationApprove.as_view(), name="evaluation-approve"),
    path("credit/evaluations/<int:pk>/reject/", v.EvaluationReject.as_view(), name="evaluation-reject"),
]
for _name, _view in v.DECISION_VIEWS.items():
    urlpatterns.append(path(f"agencies/<int:pk>/{_name}/", _view.as_view(), name=f"agency-{_name}"))
