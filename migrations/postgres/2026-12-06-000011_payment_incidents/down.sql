DROP TABLE payment_incidents;
