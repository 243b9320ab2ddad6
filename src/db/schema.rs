// Hand-kept diesel schema, portable across SQLite and PostgreSQL: integer ids,
// text enums, UTC `Timestamp`s. It must match both `migrations/*` folders.

diesel::table! {
    users (id) {
        id -> Integer,
        email -> Text,
        name -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        role -> Text,
        email_verified_at -> Nullable<Timestamp>,
        stripe_customer_id -> Nullable<Text>,
        created_at -> Timestamp,
        feed_generation -> Integer,
        deleted_at -> Nullable<Timestamp>,
        source -> Nullable<Text>,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    pending_signups (id) {
        id -> Integer,
        email -> Text,
        name -> Nullable<Text>,
        source -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        last_sent_at -> Timestamp,
        newsletter_ids -> Nullable<Text>,
        trail -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Integer,
        token_hash -> Text,
        user_id -> Integer,
        user_agent -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    login_tokens (id) {
        id -> Integer,
        token_hash -> Text,
        user_id -> Integer,
        purpose -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Integer,
        name -> Text,
        key_hash -> Text,
        user_id -> Integer,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    articles (id) {
        id -> Integer,
        slug -> Text,
        title -> Text,
        author_id -> Integer,
        body_markdown -> Text,
        body_html -> Text,
        preview_html -> Text,
        excerpt -> Text,
        visibility -> Text,
        status -> Text,
        email -> Text,
        publish_at -> Nullable<Timestamp>,
        published_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        newsletter_id -> Nullable<Integer>,
        email_subject -> Nullable<Text>,
        preheader -> Nullable<Text>,
        on_site -> Bool,
        email_at -> Nullable<Timestamp>,
        feature_image -> Nullable<Text>,
        feature_image_alt -> Nullable<Text>,
        feature_image_caption -> Nullable<Text>,
        kind -> Text,
    }
}

diesel::table! {
    subscriptions (id) {
        id -> Integer,
        user_id -> Integer,
        stripe_subscription_id -> Text,
        status -> Text,
        price_id -> Text,
        current_period_end -> Nullable<Timestamp>,
        cancel_at_period_end -> Bool,
        stripe_updated_at -> Timestamp,
        created_at -> Timestamp,
        past_due_since -> Nullable<Timestamp>,
    }
}

diesel::table! {
    comps (id) {
        id -> Integer,
        user_id -> Integer,
        granted_by -> Nullable<Integer>,
        expires_at -> Nullable<Timestamp>,
        reason -> Text,
        created_at -> Timestamp,
        tier_id -> Nullable<Integer>,
    }
}

diesel::table! {
    tiers (id) {
        id -> Integer,
        slug -> Text,
        name -> Text,
        description -> Text,
        benefits -> Text,
        active -> Bool,
        position -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    tier_prices (id) {
        id -> Integer,
        tier_id -> Integer,
        stripe_price_id -> Text,
        status -> Text,
        trial_days -> Nullable<Integer>,
        currency -> Nullable<Text>,
        unit_amount -> Nullable<BigInt>,
        recurring_interval -> Nullable<Text>,
        interval_count -> Nullable<Integer>,
        details_fetched_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        stripe_product_id -> Nullable<Text>,
    }
}

diesel::table! {
    stripe_objects (name) {
        name -> Text,
        stripe_id -> Text,
        fingerprint -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    article_tiers (article_id, tier_id) {
        article_id -> Integer,
        tier_id -> Integer,
    }
}

diesel::table! {
    payment_incidents (id) {
        id -> Integer,
        user_id -> Integer,
        kind -> Text,
        stripe_id -> Text,
        charge_id -> Text,
        amount -> BigInt,
        currency -> Text,
        status -> Text,
        suspends_access -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    offers (id) {
        id -> Integer,
        code -> Text,
        name -> Text,
        stripe_price_id -> Text,
        stripe_coupon_id -> Nullable<Text>,
        stripe_promotion_code_id -> Nullable<Text>,
        discount_label -> Text,
        ends_at -> Nullable<Timestamp>,
        active -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    gift_subscriptions (id) {
        id -> Integer,
        tier_id -> Integer,
        months -> Integer,
        currency -> Text,
        amount -> BigInt,
        buyer_email -> Text,
        buyer_name -> Text,
        recipient_email -> Nullable<Text>,
        message -> Text,
        deliver_at -> Nullable<Timestamp>,
        status -> Text,
        checkout_session_id -> Nullable<Text>,
        payment_intent_id -> Nullable<Text>,
        comp_id -> Nullable<Integer>,
        created_at -> Timestamp,
        paid_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    newsletters (id) {
        id -> Integer,
        slug -> Text,
        name -> Text,
        description -> Text,
        sender_name -> Nullable<Text>,
        visibility -> Text,
        subscribe_on_signup -> Bool,
        position -> Integer,
        archived -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    newsletter_subscriptions (newsletter_id, user_id) {
        newsletter_id -> Integer,
        user_id -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    labels (id) {
        id -> Integer,
        slug -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    member_labels (label_id, user_id) {
        label_id -> Integer,
        user_id -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    member_events (id) {
        id -> Integer,
        user_id -> Integer,
        kind -> Text,
        detail -> Text,
        actor_id -> Nullable<Integer>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    leases (name) {
        name -> Text,
        holder -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    gift_links (id) {
        id -> Integer,
        article_id -> Integer,
        gifter_id -> Integer,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        max_reads -> Integer,
        reads -> Integer,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    meter_reads (id) {
        id -> Integer,
        user_id -> Integer,
        article_id -> Integer,
        month -> Text,
        slot -> Integer,
        read_at -> Timestamp,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(gift_links -> articles (article_id));
diesel::joinable!(gift_links -> users (gifter_id));
diesel::joinable!(meter_reads -> articles (article_id));
diesel::joinable!(login_tokens -> users (user_id));
diesel::joinable!(api_keys -> users (user_id));
diesel::joinable!(articles -> users (author_id));
diesel::joinable!(subscriptions -> users (user_id));
diesel::joinable!(tier_prices -> tiers (tier_id));
diesel::joinable!(article_tiers -> tiers (tier_id));
diesel::joinable!(article_tiers -> articles (article_id));
diesel::joinable!(comps -> tiers (tier_id));
diesel::joinable!(payment_incidents -> users (user_id));
diesel::joinable!(gift_subscriptions -> tiers (tier_id));
diesel::joinable!(newsletter_subscriptions -> newsletters (newsletter_id));
diesel::joinable!(newsletter_subscriptions -> users (user_id));
diesel::joinable!(member_labels -> labels (label_id));
diesel::joinable!(member_labels -> users (user_id));
diesel::joinable!(sends -> newsletters (newsletter_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    login_tokens,
    api_keys,
    articles,
    subscriptions,
    comps,
    tiers,
    tier_prices,
    article_tiers,
    leases,
    payment_incidents,
    offers,
    gift_subscriptions,
    stripe_objects,
    slug_redirects,
    article_events,
    idempotency_keys,
    server_secrets,
    site_settings,
    pending_signups,
    sends,
    deliveries,
    send_links,
    link_clicks,
    email_events,
    webhooks,
    webhook_deliveries,
    article_views,
    member_attributions,
    outbox,
    suppressions,
    stripe_events,
    gift_links,
    meter_reads,
    newsletters,
    newsletter_subscriptions,
    labels,
    member_labels,
    member_events,
    tags,
    article_tags,
    tag_redirects,
    author_profiles,
    article_authors,
);

diesel::table! {
    author_profiles (user_id) {
        user_id -> Integer,
        slug -> Text,
        bio -> Nullable<Text>,
        avatar_url -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    article_authors (article_id, user_id) {
        article_id -> Integer,
        user_id -> Integer,
        position -> Integer,
    }
}

diesel::joinable!(author_profiles -> users (user_id));
diesel::joinable!(article_authors -> articles (article_id));
diesel::joinable!(article_authors -> users (user_id));

diesel::table! {
    tags (id) {
        id -> Integer,
        slug -> Text,
        name -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    article_tags (article_id, tag_id) {
        article_id -> Integer,
        tag_id -> Integer,
        position -> Integer,
    }
}

diesel::table! {
    tag_redirects (old_slug) {
        old_slug -> Text,
        tag_id -> Integer,
        created_at -> Timestamp,
    }
}

diesel::joinable!(article_tags -> articles (article_id));
diesel::joinable!(article_tags -> tags (tag_id));
diesel::joinable!(tag_redirects -> tags (tag_id));

diesel::table! {
    slug_redirects (id) {
        id -> Integer,
        old_slug -> Text,
        article_id -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    article_events (id) {
        id -> Integer,
        article_id -> Integer,
        event -> Text,
        actor_id -> Nullable<Integer>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (id) {
        id -> Integer,
        owner_hash -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        response_status -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    server_secrets (name) {
        name -> Text,
        value -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    site_settings (id) {
        id -> Integer,
        document -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sends (id) {
        id -> Integer,
        article_id -> Integer,
        segment -> Text,
        status -> Text,
        total -> Integer,
        created_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        newsletter_id -> Integer,
    }
}

diesel::table! {
    deliveries (id) {
        id -> Integer,
        send_id -> Integer,
        user_id -> Integer,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        sent_at -> Nullable<Timestamp>,
        opened_at -> Nullable<Timestamp>,
        unsubscribed_at -> Nullable<Timestamp>,
        bounced_at -> Nullable<Timestamp>,
        complained_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    send_links (id) {
        id -> Integer,
        send_id -> Integer,
        link_key -> Text,
        url -> Text,
    }
}

diesel::table! {
    email_events (id) {
        id -> Integer,
        provider -> Text,
        provider_event_id -> Text,
        kind -> Text,
        email -> Text,
        delivery_id -> Nullable<Integer>,
        user_id -> Nullable<Integer>,
        detail -> Text,
        occurred_at -> Timestamp,
        received_at -> Timestamp,
    }
}

diesel::table! {
    article_views (article_id, day) {
        article_id -> Integer,
        day -> Date,
        views -> Integer,
    }
}

diesel::joinable!(article_views -> articles (article_id));

diesel::table! {
    webhooks (id) {
        id -> Integer,
        url -> Text,
        events -> Text,
        description -> Text,
        secret -> Text,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        failing_since -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Integer,
        webhook_id -> Integer,
        event_id -> Text,
        event -> Text,
        payload -> Text,
        member_id -> Nullable<Integer>,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        response_status -> Nullable<Integer>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));

diesel::table! {
    link_clicks (delivery_id, link_id) {
        delivery_id -> Integer,
        link_id -> Integer,
        clicked_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> Integer,
        kind -> Text,
        to_email -> Text,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    suppressions (id) {
        id -> Integer,
        email -> Text,
        reason -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    stripe_events (id) {
        id -> Text,
        event_type -> Text,
        received_at -> Timestamp,
        processed_at -> Nullable<Timestamp>,
        error -> Nullable<Text>,
    }
}

diesel::joinable!(sends -> articles (article_id));
diesel::joinable!(deliveries -> sends (send_id));
diesel::joinable!(deliveries -> users (user_id));
diesel::joinable!(send_links -> sends (send_id));
diesel::joinable!(link_clicks -> deliveries (delivery_id));
diesel::joinable!(link_clicks -> send_links (link_id));
diesel::joinable!(slug_redirects -> articles (article_id));
diesel::joinable!(article_events -> articles (article_id));

diesel::table! {
    media (id) {
        id -> Integer,
        content_hash -> Text,
        storage_key -> Text,
        content_type -> Text,
        byte_size -> BigInt,
        width -> Integer,
        height -> Integer,
        variants -> Text,
        uploaded_by -> Nullable<Integer>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    member_attributions (id) {
        id -> Integer,
        user_id -> Integer,
        kind -> Text,
        article_id -> Nullable<Integer>,
        newsletter_article_id -> Nullable<Integer>,
        gift_link_id -> Nullable<Integer>,
        gift_subscription_id -> Nullable<Integer>,
        offer_id -> Nullable<Integer>,
        embed_origin -> Nullable<Text>,
        referrer -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(member_attributions -> users (user_id));
