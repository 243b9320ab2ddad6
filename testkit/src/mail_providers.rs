//! What mail providers send to a feedback webhook, signed as they sign it:
//! Amazon SNS (RSA over its field list, with the certificate served by a
//! fake SNS endpoint that also takes subscription confirmations) and
//! SendGrid (ECDSA P-256 over timestamp ‖ body).

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::{Engine, engine::general_purpose::STANDARD};
use ring::{
    rand::SystemRandom,
    signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair},
};
use rsa::{
    RsaPrivateKey,
    pkcs1v15::SigningKey,
    pkcs8::DecodePrivateKey,
    signature::{SignatureEncoding, Signer},
};
use serde_json::{Value, json};

/// A test key and a self-signed certificate for it (valid for a century),
/// standing in for SNS's signing certificate.
const SNS_KEY_PEM: &str = include_str!("../fixtures/sns-signing-key.pem");
const SNS_CERT_PEM: &str = include_str!("../fixtures/sns-signing-cert.pem");

/// The topic the tests' SES reports come from.
pub const SNS_TOPIC_ARN: &str = "arn:aws:sns:us-east-1:123456789012:broadsheet-ses-feedback";
/// The certificate URL the fake's messages name: a real SNS host, so the
/// server's host rule is exercised; `AWS_ENDPOINT_URL_SNS` sends the fetch
/// to the fake.
pub const SNS_CERT_URL: &str =
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem";

/// A fake SNS endpoint: serves the signing certificate and records
/// subscription confirmations.
pub struct FakeSns {
    pub endpoint: String,
    confirmed: Arc<Mutex<Vec<String>>>,
    certificate_fetches: Arc<Mutex<usize>>,
}

#[derive(Clone)]
struct SnsState {
    confirmed: Arc<Mutex<Vec<String>>>,
    certificate_fetches: Arc<Mutex<usize>>,
}

async fn sns_handle(state: web::Data<SnsState>, req: HttpRequest) -> HttpResponse {
    if req.path().ends_with(".pem") {
        *state.certificate_fetches.lock().unwrap() += 1;
        return HttpResponse::Ok()
            .content_type("application/x-pem-file")
            .body(SNS_CERT_PEM);
    }
    let query: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let get = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if get("Action").as_deref() == Some("ConfirmSubscription")
        && get("TopicArn").as_deref() == Some(SNS_TOPIC_ARN)
    {
        state
            .confirmed
            .lock()
            .unwrap()
            .push(get("Token").unwrap_or_default());
        return HttpResponse::Ok().content_type("text/xml").body(
            "<ConfirmSubscriptionResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><ConfirmSubscriptionResult>\
             <SubscriptionArn>arn:aws:sns:us-east-1:123456789012:broadsheet-ses-feedback:1</SubscriptionArn>\
             </ConfirmSubscriptionResult></ConfirmSubscriptionResponse>",
        );
    }
    HttpResponse::NotFound().body("no fake for this request")
}

impl FakeSns {
    pub async fn start() -> Self {
        let state = SnsState {
            confirmed: Arc::default(),
            certificate_fetches: Arc::default(),
        };
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(sns_handle))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let endpoint = format!("http://127.0.0.1:{}", server.addrs()[0].port());
        tokio::spawn(server.run());
        Self {
            endpoint,
            confirmed: state.confirmed,
            certificate_fetches: state.certificate_fetches,
        }
    }

    /// The tokens of the subscriptions confirmed so far.
    pub fn confirmed(&self) -> Vec<String> {
        self.confirmed.lock().unwrap().clone()
    }

    pub fn certificate_fetches(&self) -> usize {
        *self.certificate_fetches.lock().unwrap()
    }
}

/// An SNS notification carrying `message` (SES's JSON), signed with
/// `signature_version` 1 (SHA-1) or 2 (SHA-256), sent at `timestamp`
/// (RFC 3339).
pub fn sns_notification(message: &str, signature_version: u8, timestamp: &str) -> Value {
    let message_id = format!("{:x}", sha2_hex(message.as_bytes(), timestamp));
    let mut envelope = json!({
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": SNS_TOPIC_ARN,
        "Message": message,
        "Timestamp": timestamp,
        "SignatureVersion": signature_version.to_string(),
        "SigningCertURL": SNS_CERT_URL,
        "UnsubscribeURL": format!("https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={SNS_TOPIC_ARN}:1"),
    });
    let signed = format!(
        "Message\n{message}\nMessageId\n{message_id}\nTimestamp\n{timestamp}\nTopicArn\n{SNS_TOPIC_ARN}\nType\nNotification\n"
    );
    envelope["Signature"] = json!(sns_sign(&signed, signature_version));
    envelope
}

/// SNS's first message to a new HTTPS subscription.
pub fn sns_subscription_confirmation(token: &str, timestamp: &str) -> Value {
    let subscribe_url = format!(
        "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={SNS_TOPIC_ARN}&Token={token}"
    );
    let message = format!(
        "You have chosen to subscribe to the topic {SNS_TOPIC_ARN}.\nTo confirm the subscription, visit the SubscribeURL included in this message."
    );
    let message_id = "165545c9-2a5c-472c-8df2-7ff2be2b3b1b";
    let signed = format!(
        "Message\n{message}\nMessageId\n{message_id}\nSubscribeURL\n{subscribe_url}\nTimestamp\n{timestamp}\nToken\n{token}\nTopicArn\n{SNS_TOPIC_ARN}\nType\nSubscriptionConfirmation\n"
    );
    json!({
        "Type": "SubscriptionConfirmation",
        "MessageId": message_id,
        "Token": token,
        "TopicArn": SNS_TOPIC_ARN,
        "Message": message,
        "SubscribeURL": subscribe_url,
        "Timestamp": timestamp,
        "SignatureVersion": "2",
        "Signature": sns_sign(&signed, 2),
        "SigningCertURL": SNS_CERT_URL,
    })
}

fn sns_sign(text: &str, version: u8) -> String {
    let key = RsaPrivateKey::from_pkcs8_pem(SNS_KEY_PEM).expect("the test key");
    let signature = match version {
        1 => SigningKey::<sha1::Sha1>::new(key).sign(text.as_bytes()).to_vec(),
        _ => SigningKey::<sha2::Sha256>::new(key)
            .sign(text.as_bytes())
            .to_vec(),
    };
    STANDARD.encode(signature)
}

fn sha2_hex(bytes: &[u8], salt: &str) -> u128 {
    use sha2::Digest;
    let digest = sha2::Sha256::new()
        .chain_update(bytes)
        .chain_update(salt)
        .finalize();
    u128::from_be_bytes(digest[..16].try_into().unwrap())
}

/// SendGrid's side of a signed Event Webhook: a P-256 key pair.
pub struct SendgridSigner {
    key_pair: EcdsaKeyPair,
}

impl Default for SendgridSigner {
    fn default() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let key_pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        Self { key_pair }
    }
}

impl SendgridSigner {
    /// The verification key as SendGrid's settings show it: base64 of the
    /// SubjectPublicKeyInfo.
    pub fn public_key(&self) -> String {
        // SubjectPublicKeyInfo for an uncompressed P-256 point: this fixed
        // prefix (id-ecPublicKey, prime256v1, a 66-byte bit string), then
        // the 65-byte point.
        const PREFIX: [u8; 26] = [
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
            0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ];
        let mut der = PREFIX.to_vec();
        der.extend_from_slice(self.key_pair.public_key().as_ref());
        STANDARD.encode(der)
    }

    /// The two headers SendGrid sends with `body`, signed at `timestamp`.
    pub fn headers(&self, timestamp: i64, body: &[u8]) -> [(&'static str, String); 2] {
        let mut signed = timestamp.to_string().into_bytes();
        signed.extend_from_slice(body);
        let signature = self.key_pair.sign(&SystemRandom::new(), &signed).unwrap();
        [
            (
                "X-Twilio-Email-Event-Webhook-Signature",
                STANDARD.encode(signature.as_ref()),
            ),
            ("X-Twilio-Email-Event-Webhook-Timestamp", timestamp.to_string()),
        ]
    }
}
