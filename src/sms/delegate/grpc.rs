//! `otp.issuer = "grpc"`: `gatehouse.directory.v1.Verification`
//! (`StartVerification`, `CheckVerification`). Any status but OK is an
//! outage.

use tonic::transport::Channel;
use url::Url;

use super::{DelegateError, Verification};
use crate::config::GrpcSettings;
use crate::infra::grpc::proto::verification_client::VerificationClient;
use crate::infra::grpc::proto::{CheckVerificationRequest, StartVerificationRequest};
use crate::infra::grpc::{self, request};

#[derive(Clone)]
pub struct GrpcDelegate {
    client: VerificationClient<Channel>,
    url: Url,
    settings: GrpcSettings,
}

impl GrpcDelegate {
    pub fn new(url: &Url, settings: &GrpcSettings) -> Result<GrpcDelegate, DelegateError> {
        let channel = grpc::channel(url, settings).map_err(|problem| DelegateError {
            issuer: "grpc",
            problem: format!("otp.grpc.url: {problem}"),
        })?;
        Ok(GrpcDelegate {
            client: VerificationClient::new(channel).max_decoding_message_size(64 * 1024),
            url: url.clone(),
            settings: settings.clone(),
        })
    }

    pub async fn probe(&self) -> Result<String, String> {
        grpc::connect(&self.url, &self.settings).await?;
        Ok(format!(
            "{} accepts gRPC connections (nothing sent)",
            self.url
        ))
    }

    pub async fn start(&self, verification: Verification<'_>) -> Result<(), String> {
        let message = StartVerificationRequest {
            phone: verification.phone.as_str().to_string(),
            flow_id: verification.flow_id.to_string(),
        };
        let mut client = self.client.clone();
        client
            .start_verification(request(message, &self.settings))
            .await
            .map(|_| ())
            .map_err(|status| format!("the code service {}", grpc::failure(&status)))
    }

    pub async fn check(&self, verification: Verification<'_>, code: &str) -> Result<bool, String> {
        let message = CheckVerificationRequest {
            flow_id: verification.flow_id.to_string(),
            code: code.to_string(),
            phone: verification.phone.as_str().to_string(),
        };
        let mut client = self.client.clone();
        client
            .check_verification(request(message, &self.settings))
            .await
            .map(|answer| answer.into_inner().approved)
            .map_err(|status| format!("the code service {}", grpc::failure(&status)))
    }
}
