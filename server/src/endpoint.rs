//! Serving the endpoints of [`medk_shared::api`] with axum: a handler reads
//! its request as a [`Call`] of its endpoint and answers a [`Reply`] of it
//! or an [`ApiError`]; [`Routes::at`] routes it at its endpoint's method
//! and path, which it learns from the handler's answer type. So a handler
//! answers exactly what the app decodes, at the path the app calls.

use std::future::Future;

use axum::Json;
use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::handler::Handler;
use axum::http::header::{RETRY_AFTER, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use medk_shared::api::{self, Endpoint, ErrorBody, Method};
use serde::de::DeserializeOwned;

use crate::throttle::Wait;

/// Every refusal and failure of the API: a status, and a message for the
/// person ([`ErrorBody`]).
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    /// Seconds to wait before trying again (a 429).
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into(), retry_after: None }
    }

    /// 429 for a password check held back by the sign-in limits ([`Wait`]),
    /// with how long to wait in the body and in `Retry-After`: `what` is
    /// what did not happen («Вход не выполнен»).
    pub fn too_many(what: &str, wait: Wait) -> ApiError {
        let message = wait.message_ru(what);
        ApiError {
            retry_after: Some(wait.seconds()),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, message)
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(ErrorBody { error: self.message, retry_after_s: self.retry_after });
        match self.retry_after {
            Some(seconds) => (self.status, [(RETRY_AFTER, HeaderValue::from(seconds))], body).into_response(),
            None => (self.status, body).into_response(),
        }
    }
}

/// A successful answer to endpoint `E`: its status, the cookies it sets,
/// and `E`'s answer (no body for `204`).
pub struct Reply<E: Endpoint> {
    status: StatusCode,
    cookies: Vec<HeaderValue>,
    answer: E::Answer,
}

impl<E: Endpoint> Reply<E> {
    /// `200` with `answer`.
    pub fn ok(answer: E::Answer) -> Reply<E> {
        Reply { status: StatusCode::OK, cookies: Vec::new(), answer }
    }

    /// `201` with what was made.
    pub fn created(answer: E::Answer) -> Reply<E> {
        Reply { status: StatusCode::CREATED, ..Reply::ok(answer) }
    }

    /// The answer also sets this cookie (a whole `Set-Cookie` value).
    pub fn with_cookie(mut self, cookie: HeaderValue) -> Reply<E> {
        self.cookies.push(cookie);
        self
    }
}

impl<E: Endpoint<Answer = ()>> Reply<E> {
    /// `204 No Content`.
    pub fn done() -> Reply<E> {
        Reply { status: StatusCode::NO_CONTENT, ..Reply::ok(()) }
    }
}

impl<E: Endpoint> IntoResponse for Reply<E> {
    fn into_response(self) -> Response {
        let cookies = AppendHeaders(self.cookies.into_iter().map(|cookie| (SET_COOKIE, cookie)));
        if self.status == StatusCode::NO_CONTENT {
            (self.status, cookies).into_response()
        } else {
            (self.status, cookies, Json(self.answer)).into_response()
        }
    }
}

/// A request to endpoint `E`: its path parameters (the endpoint's value)
/// and its body. Refused as axum refuses a bad `Path` or `Json`.
pub struct Call<E: Endpoint> {
    pub endpoint: E,
    pub body: E::Body,
}

impl<E: Endpoint, S: Send + Sync> FromRequest<S> for Call<E> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let endpoint = if E::ROUTE.contains('{') {
            Path::<E>::from_request_parts(&mut parts, state).await.map_err(IntoResponse::into_response)?.0
        } else {
            nothing()?
        };
        let body = if api::has_body::<E>() {
            let req = Request::from_parts(parts, body);
            Json::<E::Body>::from_request(req, state).await.map_err(IntoResponse::into_response)?.0
        } else {
            nothing()?
        };
        Ok(Call { endpoint, body })
    }
}

/// The value of a type that holds nothing (an endpoint without parameters,
/// a body of `()`), which reads from JSON `null`.
fn nothing<T: DeserializeOwned>() -> Result<T, Response> {
    serde_json::from_value(serde_json::Value::Null).map_err(|e| {
        tracing::error!("an endpoint's parameters or body are not empty: {e}");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    })
}

/// Handlers that answer endpoint `E` (their future's output is a
/// [`Reply<E>`] or an error), whatever they extract (`Args`).
pub trait Answers<E, Args> {}

macro_rules! answers {
    ($($arg:ident),*) => {
        impl<F, Fut, E, $($arg,)*> Answers<E, ($($arg,)*)> for F
        where
            F: FnOnce($($arg),*) -> Fut,
            Fut: Future<Output = Result<Reply<E>, ApiError>>,
            E: Endpoint,
        {
        }
    };
}

answers!();
answers!(A1);
answers!(A1, A2);
answers!(A1, A2, A3);
answers!(A1, A2, A3, A4);
answers!(A1, A2, A3, A4, A5);
answers!(A1, A2, A3, A4, A5, A6);

/// A router built from handlers, each at its endpoint's method and route.
pub struct Routes<S>(Router<S>);

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    pub fn new() -> Routes<S> {
        Routes(Router::new())
    }

    /// Routes `handler` at the endpoint it answers.
    pub fn at<E, H, T, Args>(self, handler: H) -> Routes<S>
    where
        E: Endpoint,
        H: Handler<T, S> + Answers<E, Args>,
        T: 'static,
    {
        let method = match E::METHOD {
            Method::Get => MethodFilter::GET,
            Method::Post => MethodFilter::POST,
            Method::Put => MethodFilter::PUT,
            Method::Delete => MethodFilter::DELETE,
        };
        Routes(self.0.route(E::ROUTE, on(method, handler)))
    }

    pub fn into_router(self) -> Router<S> {
        self.0
    }
}
