//! The demo's chapter about the board: Ada signs in with GitHub (the fake GitHub's user
//! authorisation, over HTTP) and reads the grid, the repository's page and the production
//! deployment's page; an outsider who cannot read acme/web signs in and sees none of it.

use super::{Failed, INDENT, Run, Step};
use crate::board_visitor::BoardVisitor;
use crate::world::{self, ADA};
use deploybot_core::Environment;

/// The chapter's title (the end-to-end test lists it among the demo's steps).
pub const TITLE: &str = "Ada opens the board: every environment at a glance, signed in with GitHub";

impl Run<'_> {
    pub(super) async fn board(&mut self) -> Step {
        self.step(TITLE);
        let base = self.app.base_url().to_owned();
        self.say(format!(
            "The board answers at {base}/ (a browser can open it)."
        ));
        let mut ada = BoardVisitor::new(&base)?;
        let first = ada.get("/").await?;
        self.check(
            first.status == 200 && first.body.contains("Sign in with GitHub"),
            "without a session the board shows only its sign-in page",
        )?;
        self.say("Ada presses Sign in with GitHub, approves deploybot on GitHub, and is back:");
        let grid = ada.sign_in(ADA.github_login).await?;
        self.out.line(format!(
            "{INDENT}GitHub       ← GET /login/oauth/authorize, POST /login/oauth/access_token, GET /user, GET /user/repos"
        ));
        self.check(
            grid.status == 200
                && grid
                    .body
                    .contains(&format!("Signed in as <strong>{}", ADA.github_login)),
            "a signed session cookie; the grid greets Ada by her GitHub login",
        )?;
        self.check(
            grid.body.contains(world::REPOSITORY)
                && ["production", "staging", "test", "preview"]
                    .iter()
                    .all(|e| grid.body.contains(&format!("<th scope=\"row\">{e}</th>"))),
            "the grid shows acme/web with each of its environments",
        )?;
        // The last release that succeeded (the approvals' chapter); the notifications' one failed.
        const RUNS: &str = "v1.6.0";
        self.check(
            grid.body.contains(RUNS),
            format!("production runs {RUNS} on the grid"),
        )?;
        let page = ada.get(&format!("/repos/{}", world::REPOSITORY)).await?;
        self.check(
            page.status == 200 && page.body.contains("/compare/"),
            "the repository's page links GitHub's comparison of what waits to be promoted",
        )?;
        self.check(
            page.body.matches("<svg").count() == 4,
            "and draws its four delivery charts (deployments, lead time, failure rate, restore)",
        )?;
        let production = self
            .app
            .deployments()
            .await?
            .into_iter()
            .find(|d| d.environment == Environment::Production)
            .ok_or_else(|| Failed("no production deployment".into()))?;
        let path = format!(
            "/repos/{}/deployments/{}",
            world::REPOSITORY,
            production.id.as_str()
        );
        let deployment = ada.get(&path).await?;
        self.check(
            deployment.status == 200
                && deployment.body.contains(production.sha.as_str())
                && deployment.body.contains("Timeline"),
            format!("the production deployment's page shows its commit and timeline ({path})"),
        )?;

        self.say(format!(
            "Someone who cannot read acme/web on GitHub signs in as {}:",
            world::OUTSIDER_LOGIN
        ));
        let mut outsider = BoardVisitor::new(&base)?;
        let theirs = outsider.sign_in(world::OUTSIDER_LOGIN).await?;
        self.check(
            theirs.status == 200 && !theirs.body.contains(world::REPOSITORY),
            "their grid does not show acme/web",
        )?;
        let refused = outsider
            .get(&format!("/repos/{}", world::REPOSITORY))
            .await?;
        let hidden = outsider.get(&path).await?;
        self.check(
            refused.status == 404 && hidden.status == 404,
            "acme/web's page and its deployment are 404 for them",
        )?;
        Ok(())
    }
}
