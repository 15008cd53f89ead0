package httpapi

// The endpoints of logins and sessions: the two WeChat logins, account
// deletion, refresh, logout, and the JWKS.

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

func (h *Handler) wechatOffiaccountLogin(c echo.Context) error {
	return h.login(c, func(p params) (application.LoginResult, error) {
		return h.users.LoginWithWeChatOfficialAccount(c.Request().Context(), application.WeChatLogin{
			UserDomain: p.get("userDomain"),
			AppID:      p.get("appId"),
			Code:       p.get("code"),
			Signature:  p.get("signature"),
			MCC:        p.integer("mcc"),
		})
	})
}

func (h *Handler) wechatMiniprogramLogin(c echo.Context) error {
	return h.login(c, func(p params) (application.LoginResult, error) {
		return h.users.LoginWithWeChatMiniProgram(c.Request().Context(), application.WeChatMiniProgramLogin{
			UserDomain: p.get("userDomain"),
			AppID:      p.get("appId"),
			JSCode:     p.get("jsCode"),
			Signature:  p.get("signature"),
			MCC:        p.integer("mcc"),
		})
	})
}

// login answers a login endpoint: its parameters read, the token pair or the
// failure.
func (h *Handler) login(c echo.Context, do func(params) (application.LoginResult, error)) error {
	res, err := do(readParams(c.Request()))
	if err != nil {
		return h.fail(c, err)
	}
	if res.DeletionCancelled {
		return okExt(c, pairDTO(res.Tokens), extDeletionCancelled)
	}
	return ok(c, pairDTO(res.Tokens))
}

// extDeletionCancelled is the extMsg of a login that cancelled the user's
// pending deletion.
const extDeletionCancelled = `{"deletionCancelled":true}`

// userDelete is the end user's account deletion: the token first (5106,
// 5032), then the type (5152), then the request (5129 when it could not be
// recorded).
func (h *Handler) userDelete(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := h.auth.VerifyAccessToken(ctx, c.Request().Header.Get(echo.HeaderAuthorization))
	if err != nil {
		h.logTokenRefused(c, err)
		return h.fail(c, err)
	}
	t, err := domain.ParseDeletionType(readParams(c.Request()).integer("type"))
	if err != nil {
		return h.fail(c, err)
	}
	if _, err := h.users.DeleteAccount(ctx, p, t); err != nil {
		return h.fail(c, err)
	}
	return ok(c, nil)
}

func (h *Handler) refreshToken(c echo.Context) error {
	p := readParams(c.Request())
	pair, err := h.users.Refresh(c.Request().Context(), p.get("refreshToken"))
	if err != nil {
		return h.fail(c, err)
	}
	return ok(c, pairDTO(pair))
}

func (h *Handler) userLogout(c echo.Context) error {
	p := readParams(c.Request())
	if err := h.users.LogoutDevice(c.Request().Context(), c.Request().Header.Get(echo.HeaderAuthorization), p.orInvalid("deviceId")); err != nil {
		return h.fail(c, err)
	}
	return ok(c, nil)
}

func (h *Handler) jwks(c echo.Context) error {
	b, err := h.users.JWKS(c.Request().Context())
	if err != nil {
		return h.fail(c, err)
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=60")
	return c.JSONBlob(http.StatusOK, b)
}
