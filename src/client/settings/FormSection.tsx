import React from 'react';
import { Typography, theme } from 'antd';

/** A titled group of form fields ("Account", "Outgoing server" …). */
export function FormSection({
  title,
  description,
  extra,
  children,
  testId,
}: {
  title: string;
  description?: React.ReactNode;
  extra?: React.ReactNode;
  children: React.ReactNode;
  testId?: string;
}) {
  const { token } = theme.useToken();
  return (
    <section data-testid={testId} style={{ marginBottom: token.marginLG }}>
      <div
        style={{
          display: 'flex',
          alignItems: 'center',
          justifyContent: 'space-between',
          gap: 12,
          marginBottom: description ? 4 : token.margin,
          paddingBottom: description ? 0 : 8,
          borderBottom: description ? undefined : `1px solid ${token.colorBorderSecondary}`,
        }}
      >
        <Typography.Title level={5} style={{ margin: 0 }}>
          {title}
        </Typography.Title>
        {extra}
      </div>
      {description && (
        <Typography.Paragraph
          type="secondary"
          style={{
            marginBottom: token.margin,
            paddingBottom: 8,
            borderBottom: `1px solid ${token.colorBorderSecondary}`,
          }}
        >
          {description}
        </Typography.Paragraph>
      )}
      {children}
    </section>
  );
}
