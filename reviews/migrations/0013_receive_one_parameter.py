"""``reviews_receive`` takes the submission's reviews as one JSON parameter (R13, R17).

Migration 0012 passed them as four parallel arrays (kinds, products, ratings, comments). The web
process spent more CPU adapting those four Python lists to Postgres arrays (psycopg inspects each
list's elements to choose the array type, on every call) than on anything else of the call; one
JSON document is dumped by the standard library's C encoder and sent as one text parameter.
Same checks, same rows, same order (merchant review first), same generic plan.

Postgres only; other databases take the ORM path in ``review_receive``.
"""

import importlib

from django.db import migrations

from companies.db import RunSQLOnPostgres

CREATE = """
CREATE OR REPLACE FUNCTION reviews_receive(
    p_invitation bigint, p_now timestamptz, p_wanted jsonb, p_display_name text,
    p_dialogue_email text
) RETURNS SETOF bigint
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $fn$
BEGIN
    -- The link: valid, its shop open for ratings and nothing submitted yet; marked rated.
    -- Then the merchant review and one per product of the order (R13), pending ("awaiting
    -- check") with no text of their own, and their first versions, which hold the text.
    -- p_wanted: [[kind, product_id or null, rating, comment], ...], merchant first.
    RETURN QUERY
    WITH link AS (
        UPDATE invitations_invitation AS i
           SET status = 'rated', used_at = p_now, updated_at = p_now
          FROM companies_shop AS s, companies_company AS c
         WHERE i.id = p_invitation AND s.id = i.shop_id AND c.id = s.company_id
           AND i.expires_at > p_now AND i.status <> 'expired'
           AND NOT s.ratings_stopped AND NOT s.public_pages_disabled AND c.status = 'active'
           AND NOT EXISTS (SELECT 1 FROM reviews_review AS r WHERE r.invitation_id = i.id)
     RETURNING i.id, i.company_id, i.shop_id,
               ARRAY(SELECT item.product_id FROM invitations_orderitem AS item
                      WHERE item.order_id = i.order_id) AS items
    ), wanted AS (
        SELECT (e ->> 0)::varchar AS kind, (e ->> 1)::bigint AS product_id,
               (e ->> 2)::integer AS rating, e ->> 3 AS comment, n
          FROM jsonb_array_elements(p_wanted) WITH ORDINALITY AS w(e, n)
    ), stored AS (
        INSERT INTO reviews_review (company_id, created_at, updated_at, shop_id, kind,
                                    product_id, invitation_id, is_transaction_based, rating,
                                    comment, display_name, dialogue_email, author_email, status,
                                    public_id, version, submitted_at)
        SELECT link.company_id, p_now, p_now, link.shop_id, w.kind, w.product_id, link.id, true,
               w.rating, '', p_display_name,
               CASE WHEN w.kind = 'merchant' THEN p_dialogue_email ELSE '' END, '', 'pending',
               gen_random_uuid(), 1, p_now
          FROM link CROSS JOIN wanted AS w
         WHERE w.kind = 'merchant' OR w.product_id = ANY (link.items)
         ORDER BY w.n
     RETURNING id, company_id, shop_id, product_id, rating
    )
    INSERT INTO reviews_reviewversion (company_id, created_at, updated_at, shop_id, review_id,
                                       version, rating, comment, edited_by_id)
    SELECT stored.company_id, p_now, p_now, stored.shop_id, stored.id, 1, stored.rating,
           w.comment, NULL
      FROM stored JOIN wanted AS w ON w.product_id IS NOT DISTINCT FROM stored.product_id
    RETURNING review_id;
END
$fn$;
DROP FUNCTION IF EXISTS reviews_receive(bigint, timestamptz, varchar[], bigint[], integer[],
                                        text[], text, text);
"""

# Back: the four-array function of 0012, this one dropped.
REVERSE = (
    "DROP FUNCTION IF EXISTS reviews_receive(bigint, timestamptz, jsonb, text, text);\n"
    + importlib.import_module("reviews.migrations.0012_receive_function").CREATE
)


class Migration(migrations.Migration):
    dependencies = [("reviews", "0012_receive_function")]

    operations = [RunSQLOnPostgres(CREATE, REVERSE)]
