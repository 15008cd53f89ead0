package httpapi

// The endpoints of the profile: userInfo and setUserInfo.

import (
	"errors"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/iotplatform/enduser-auth/domain"
)

// userInfoDTO is the platform's user information; fields this module does not
// know (phone, other logins) and profile fields never set are present and
// empty strings, as clients expect them; the profile's numbers (sex, lang,
// nationality, timezone) are their decimal text, as the platform's strings.
type userInfoDTO struct {
	UID                     string `json:"uid"`
	UserDomain              string `json:"userDomain"`
	NikeName                string `json:"nikeName"`
	Phone                   string `json:"phone"`
	PhoneCountryCode        string `json:"phoneCountryCode"`
	Email                   string `json:"email"`
	Address                 string `json:"address"`
	Sex                     string `json:"sex"`
	Headimg                 string `json:"headimg"`
	Lang                    string `json:"lang"`
	Timezone                string `json:"timezone"`
	NationalityID           string `json:"nationalityId"`
	Nationality             string `json:"nationality"`
	Province                string `json:"province"`
	City                    string `json:"city"`
	Signature               string `json:"signature"`
	Remark                  string `json:"remark"`
	WechatMiniprogramUserID string `json:"wechatMiniprogramUserId"`
	WechatOffiaccountUserID string `json:"wechatOffiaccountUserId"`
	WechatUnionID           string `json:"wechatUnionId"`
	AppleUserID             string `json:"appleUserId"`
	TwitterUserID           string `json:"twitterUserId"`
	FacebookUserID          string `json:"facebookUserId"`
	LogonMode               string `json:"logonMode"`
	Status                  int    `json:"status"`
	RegisterTime            int64  `json:"registerTime"`
	LastLoginTime           int64  `json:"lastLoginTime"`
}

// logonModes name how a user registered (userInfo's logonMode), by the kind
// of WeChat app of its first login.
var logonModes = map[domain.AppKind]string{
	domain.AppKindOfficialAccount: "wechatOffiaccount",
	domain.AppKindMiniProgram:     "wechatMiniprogram",
}

func (h *Handler) userInfo(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := h.auth.VerifyAccessToken(ctx, c.Request().Header.Get(echo.HeaderAuthorization))
	if err != nil {
		h.logTokenRefused(c, err)
		return h.fail(c, err)
	}
	prof, err := h.users.UserInfo(ctx, p)
	if err != nil {
		return h.fail(c, err)
	}
	pr := prof.Profile
	return ok(c, userInfoDTO{
		UID:                     prof.User.ID(),
		UserDomain:              p.UserDomain,
		NikeName:                pr.NikeName,
		Phone:                   prof.Phone.Masked(),
		PhoneCountryCode:        prof.Phone.CountryCode,
		Headimg:                 pr.HeadImage,
		Sex:                     intText(pr.Sex),
		Address:                 pr.Address,
		Province:                pr.Province,
		City:                    pr.City,
		Signature:               pr.Signature,
		Remark:                  pr.Remark,
		Lang:                    intText(pr.Lang),
		Nationality:             intText(pr.Nationality),
		NationalityID:           intText(pr.Nationality),
		Timezone:                intText(pr.Timezone),
		WechatOffiaccountUserID: prof.OfficialAccount.OpenID(),
		WechatMiniprogramUserID: prof.MiniProgram.OpenID(),
		WechatUnionID:           prof.UnionID,
		LogonMode:               logonModes[prof.RegisteredVia],
		Status:                  int(prof.User.Status()),
		RegisterTime:            prof.User.RegisteredAt().UnixMilli(),
		LastLoginTime:           prof.User.LastLoginAt().UnixMilli(),
	})
}

// intText is an optional number as the platform's text ("" unset).
func intText(v *int) string {
	if v == nil {
		return ""
	}
	return strconv.Itoa(*v)
}

// profileParams names setUserInfo's parameters: the profile field each one
// changes, in the order the domain checks the fields.
var profileParams = [...]struct {
	name  string
	field domain.ProfileField
}{
	{"nikeName", domain.FieldNikeName}, {"headImage", domain.FieldHeadImage}, {"sex", domain.FieldSex},
	{"address", domain.FieldAddress}, {"province", domain.FieldProvince}, {"city", domain.FieldCity},
	{"signature", domain.FieldSignature}, {"remark", domain.FieldRemark}, {"lang", domain.FieldLang},
	{"nationality", domain.FieldNationality}, {"timezone", domain.FieldTimezone},
}

// profileText is the profile change the request sends: setUserInfo's
// parameters that are present (other names are ignored).
func profileText(p params) domain.ProfileText {
	sent := domain.ProfileText{}
	for _, pp := range profileParams {
		if v, ok := p.lookup(pp.name); ok {
			sent[pp.field] = v
		}
	}
	return sent
}

// profileRefusal words a refused profile change for the client: the
// parameter's name and the problem, as extMsg.
func profileRefusal(err error) error {
	var fe *domain.ProfileFieldError
	if !errors.As(err, &fe) {
		return err
	}
	for _, pp := range profileParams {
		if pp.field == fe.Field {
			return &domain.Error{Kind: domain.KindOf(err), Detail: pp.name + " " + fe.Problem}
		}
	}
	return err
}

func (h *Handler) setUserInfo(c echo.Context) error {
	p := readParams(c.Request())
	var err error
	if p.tooLarge {
		// Nothing of it is read: after the token's check, 5034, never a
		// success that saved nothing.
		_, err = h.auth.VerifyAccessToken(c.Request().Context(), c.Request().Header.Get(echo.HeaderAuthorization))
		if err == nil {
			err = domain.Errorf(domain.KindProfileInvalid, "the request body is over %d bytes", maxBodyBytes)
		}
	} else {
		err = h.users.SetUserInfo(c.Request().Context(), c.Request().Header.Get(echo.HeaderAuthorization), profileText(p))
	}
	if err != nil {
		if domain.IsKind(err, domain.KindTokenInvalid) || domain.IsKind(err, domain.KindAccessTokenRequired) {
			h.logTokenRefused(c, err)
		}
		return h.fail(c, profileRefusal(err))
	}
	return ok(c, nil)
}
