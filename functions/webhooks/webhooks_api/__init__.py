"""Outbound webhooks: subscriptions, their signed deliveries, retries and replays."""
