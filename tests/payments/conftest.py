"""Fixtures for payments: a DE company on a plan whose invoices are EUR 1,190.00 gross."""

from __future__ import annotations

import datetime
import importlib
from decimal import Decimal

import pytest
from django.apps import apps

from billing.services import invoice_issue_for_period
from tests import factories

D = datetime.date


@pytest.fixture(autouse=True)
def base_rates(db):
    """The base rates of the data migration. Transactional tests elsewhere flush the tables
    (pytest-django), so each test puts the migration's rows back (idempotent)."""
    migration = importlib.import_module("payments.migrations.0002_base_rates")
    migration.seed(apps, None)


@pytest.fixture
def contract(company):
    plan = factories.PlanFactory(price_per_period=Decimal("1000.00"))
    return factories.ContractFactory(company=company, plan=plan, starts_on=D(2025, 5, 20))


@pytest.fixture
def other_contract(other_company):
    plan = factories.PlanFactory(price_per_period=Decimal("500.00"))
    return factories.ContractFactory(company=other_company, plan=plan, starts_on=D(2025, 5, 20))


def issue(contract, period_start, issued_on=None):
    """The contract's plan invoice for the period starting ``period_start``."""
    return invoice_issue_for_period(
        contract=contract, period_start=period_start, issued_on=issued_on or period_start
    )
