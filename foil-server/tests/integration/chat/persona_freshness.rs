//! The chat's persona cache (one parsed copy per persona, checked against `updated_at` on every
//! use) never serves a persona older than the database: a replaced document, an unpublished or
//! deleted persona is seen by the very next request — also through a second instance, whose
//! cache the first one's writes never touched.

use axum::http::StatusCode;

use super::support::{chat_persona, setup, Player};
use crate::common::{Backend, TestRequest};

crate::on_both_databases!(a_changed_persona_is_served_fresh_on_every_instance);

async fn a_changed_persona_is_served_fresh_on_every_instance(backend: Backend) {
    let Some(app) = crate::common::TestApp::new(backend).await else {
        return;
    };
    let other = app.second_instance(|_| {}).await;
    let doc = chat_persona("Fresh", true);
    let s = setup(&app, "fresh@example.com", &doc).await;
    let player = Player::sdk(&s.key, &s.persona_id, "fresh");
    // Both instances have the persona cached now.
    for instance in [&app, &other] {
        let machines = player.machines(instance).await;
        assert_eq!(machines[0]["name"], "Main scene");
    }

    // A replaced document, saved through one instance, is what both serve next.
    let mut renamed = doc.clone();
    renamed["machines"][0]["name"] = "Renamed scene".into();
    let res = app
        .send(
            TestRequest::post(&format!("/api/v1/creator/save?persona_id={}", s.persona_id))
                .bearer(&s.token)
                .json(&renamed),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    for instance in [&app, &other] {
        let machines = player.machines(instance).await;
        assert_eq!(machines[0]["name"], "Renamed scene");
    }

    // Unpublished: refused at once, everywhere; published again: served again.
    let flip = |what: &str| {
        TestRequest::post(&format!("/api/v1/personas/{}/{what}", s.persona_id)).bearer(&s.token)
    };
    assert_eq!(app.send(flip("unpublish")).await.status, StatusCode::OK);
    for instance in [&app, &other] {
        let res = instance.send(player.machines_request()).await;
        res.assert_error(StatusCode::FORBIDDEN, "persona_access_denied");
    }
    assert_eq!(other.send(flip("publish")).await.status, StatusCode::OK);
    player.init(&app).await;

    // Deleted: not found, everywhere.
    let res = app
        .send(TestRequest::delete(&format!("/api/v1/personas/{}", s.persona_id)).bearer(&s.token))
        .await;
    assert!(res.status.is_success(), "{}", res.text);
    for instance in [&app, &other] {
        let res = instance.send(player.machines_request()).await;
        res.assert_error(StatusCode::NOT_FOUND, "persona_not_found");
    }
}
