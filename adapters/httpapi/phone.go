package httpapi

// wechatMiniprogramPhoneNumber: the mini program's phone number bound to the
// token's user (spec §7.3).

import (
	"github.com/labstack/echo/v4"

	"github.com/iotplatform/enduser-auth/domain"
)

// phoneDTO is the bound number as clients see it: masked.
type phoneDTO struct {
	Phone       string `json:"phone"`
	CountryCode string `json:"countryCode"`
}

// wechatMiniprogramPhoneNumber checks the token first (5106, 5032, 5041),
// then the service checks the rest in the contract's order.
func (h *Handler) wechatMiniprogramPhoneNumber(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := h.auth.VerifyAccessToken(ctx, c.Request().Header.Get(echo.HeaderAuthorization))
	if err != nil {
		h.logTokenRefused(c, err)
		return h.fail(c, err)
	}
	params := readParams(c.Request())
	code := params.get("phoneCode")
	if params.notUTF8["phoneCode"] {
		code = invalidUTF8
	}
	phone, err := h.users.BindWeChatPhone(ctx, p, params.get("appId"), code)
	if err != nil {
		return h.fail(c, err)
	}
	return ok(c, phoneDTO{Phone: domain.MaskPhone(phone.Number), CountryCode: phone.CountryCode})
}
