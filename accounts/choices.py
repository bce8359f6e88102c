from django.db import models


class OrganisationKind(models.TextChoices):
    PURCHASER = "purchaser", "采购人 Purchaser"
    AGENCY = "agency", "中介机构 Agency"
    SUPERVISORY_DEPARTMENT = "supervisory_department", "行政监督部门 Supervisory department"
    TRADING_CENTRE = "trading_centre", "公共资源交易中心 Trading centre"
