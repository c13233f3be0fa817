export type Json =
  | string
  | number
  | boolean
  | null
  | { [key: string]: Json | undefined }
  | Json[];

export type Database = {
  public: {
    Tables: {
      appointment_slot_offers: {
        Row: {
          appointment_id: string;
          appointment_type_id: string;
          cancelled_patient_id: string;
          closed_at: string | null;
          closed_reason: string | null;
          closes_at: string;
          created_at: string;
          ends_at: string;
          filled_appointment_id: string | null;
          filled_at: string | null;
          filled_invitation_id: string | null;
          id: string;
          invitation_count: number;
          last_wave_at: string | null;
          next_wave_at: string | null;
          practitioner_id: string;
          starts_at: string;
          status: string;
          updated_at: string;
          waves_sent: number;
        };
        Insert: {
          appointment_id: string;
          appointment_type_id: string;
          cancelled_patient_id: string;
          closed_at?: string | null;
          closed_reason?: string | null;
          closes_at: string;
          created_at?: string;
          ends_at: string;
          filled_appointment_id?: string | null;
          filled_at?: string | null;
          filled_invitation_id?: string | null;
          id?: string;
          invitation_count?: number;
          last_wave_at?: string | null;
          next_wave_at?: string | null;
          practitioner_id: string;
          starts_at: string;
          status?: string;
          updated_at?: string;
          waves_sent?: number;
        };
        Update: {
          appointment_id?: string;
          appointment_type_id?: string;
          cancelled_patient_id?: string;
          closed_at?: string | null;
          closed_reason?: string | null;
          closes_at?: string;
          created_at?: string;
          ends_at?: string;
          filled_appointment_id?: string | null;
          filled_at?: string | null;
          filled_invitation_id?: string | null;
          id?: string;
          invitation_count?: number;
          last_wave_at?: string | null;
          next_wave_at?: string | null;
          practitioner_id?: string;
          starts_at?: string;
          status?: string;
          updated_at?: string;
          waves_sent?: number;
        };
        Relationships: [
          {
            foreignKeyName: "appointment_slot_offers_appointment_id_fkey";
            columns: ["appointment_id"];
            isOneToOne: false;
            referencedRelation: "appointments";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "appointment_slot_offers_appointment_type_id_fkey";
            columns: ["appointment_type_id"];
            isOneToOne: false;
            referencedRelation: "appointment_types";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "appointment_slot_offers_cancelled_patient_id_fkey";
            columns: ["cancelled_patient_id"];
            isOneToOne: false;
            referencedRelation: "patients";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "appointment_slot_offers_filled_appointment_id_fkey";
            columns: ["filled_appointment_id"];
            isOneToOne: true;
            referencedRelation: "appointments";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "appointment_slot_offers_practitioner_id_fkey";
            columns: ["practitioner_id"];
            isOneToOne: false;
            referencedRelation: "practitioners";
            referencedColumns: ["id"];
          },
        ];
      };
      appointment_types: {
        Row: {
          created_at: string;
          duration_minutes: number;
          id: string;
          name: string;
          name_en: string | null;
        };
        Insert: {
          created_at?: string;
          duration_minutes: number;
          id?: string;
          name: string;
          name_en?: string | null;
        };
        Update: {
          created_at?: string;
          duration_minutes?: number;
          id?: string;
          name?: string;
          name_en?: string | null;
        };
        Relationships: [];
      };
      appointments: {
        Row: {
          appointment_type_id: string;
          cancelled_at: string | null;
          created_at: string;
          ends_at: string;
          id: string;
          notes: string | null;
          patient_id: string;
          practitioner_id: string;
          starts_at: string;
          status: string;
          updated_at: string;
        };
        Insert: {
          appointment_type_id: string;
          cancelled_at?: string | null;
          created_at?: string;
          ends_at: string;
          id?: string;
          notes?: string | null;
          patient_id: string;
          practitioner_id: string;
          starts_at: string;
          status?: string;
          updated_at?: string;
        };
        Update: {
          appointment_type_id?: string;
          cancelled_at?: string | null;
          created_at?: string;
          ends_at?: string;
          id?: string;
          notes?: string | null;
          patient_id?: string;
          practitioner_id?: string;
          starts_at?: string;
          status?: string;
          updated_at?: string;
        };
        Relationships: [
          {
            foreignKeyName: "appointments_appointment_type_id_fkey";
            columns: ["appointment_type_id"];
            isOneToOne: false;
            referencedRelation: "appointment_types";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "appointments_patient_id_fkey";
            columns: ["patient_id"];
            isOneToOne: false;
            referencedRelation: "patients";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "appointments_practitioner_id_fkey";
            columns: ["practitioner_id"];
            isOneToOne: false;
            referencedRelation: "practitioners";
            referencedColumns: ["id"];
          },
        ];
      };
      cart_items: {
        Row: {
          cart_id: string;
          product_id: number;
          quantity: number;
        };
        Insert: {
          cart_id: string;
          product_id: number;
          quantity: number;
        };
        Update: {
          cart_id?: string;
          product_id?: number;
          quantity?: number;
        };
        Relationships: [
          {
            foreignKeyName: "cart_items_cart_id_fkey";
            columns: ["cart_id"];
            isOneToOne: false;
            referencedRelation: "carts";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "cart_items_product_id_fkey";
            columns: ["product_id"];
            isOneToOne: false;
            referencedRelation: "products";
            referencedColumns: ["id"];
          },
        ];
      };
      carts: {
        Row: {
          created_at: string;
          customer_id: string | null;
          expires_at: string;
          id: string;
        };
        Insert: {
          created_at?: string;
          customer_id?: string | null;
          expires_at?: string;
          id?: string;
        };
        Update: {
          created_at?: string;
          customer_id?: string | null;
          expires_at?: string;
          id?: string;
        };
        Relationships: [
          {
            foreignKeyName: "carts_customer_id_fkey";
            columns: ["customer_id"];
            isOneToOne: false;
            referencedRelation: "customers";
            referencedColumns: ["id"];
          },
        ];
      };
      customers: {
        Row: {
          consent_messages: boolean;
          created_at: string;
          email: string | null;
          id: string;
          language: string;
          name: string;
          updated_at: string;
          whatsapp_number: string | null;
        };
        Insert: {
          consent_messages?: boolean;
          created_at?: string;
          email?: string | null;
          id?: string;
          language?: string;
          name: string;
          updated_at?: string;
          whatsapp_number?: string | null;
        };
        Update: {
          consent_messages?: boolean;
          created_at?: string;
          email?: string | null;
          id?: string;
          language?: string;
          name?: string;
          updated_at?: string;
          whatsapp_number?: string | null;
        };
        Relationships: [];
      };
      evolution_instance_creation_queue: {
        Row: {
          created_at: string;
          error_message: string | null;
          id: string;
          job_id: number | null;
          processed_at: string | null;
          request_id: string;
          retry_count: number;
          status: string;
          updated_at: string;
          user_id: string;
        };
        Insert: {
          created_at?: string;
          error_message?: string | null;
          id?: string;
          job_id?: number | null;
          processed_at?: string | null;
          request_id: string;
          retry_count?: number;
          status?: string;
          updated_at?: string;
          user_id: string;
        };
        Update: {
          created_at?: string;
          error_message?: string | null;
          id?: string;
          job_id?: number | null;
          processed_at?: string | null;
          request_id?: string;
          retry_count?: number;
          status?: string;
          updated_at?: string;
          user_id?: string;
        };
        Relationships: [];
      };
      evolution_instances: {
        Row: {
          connected_at: string | null;
          created_at: string;
          id: string;
          instance_id: string | null;
          instance_name: string;
          instance_status: string;
          instance_token: string | null;
          last_event_at: string | null;
          last_qr_update: string | null;
          pairing_code: string | null;
          phone_number: string | null;
          profile_name: string | null;
          qr_code: string | null;
          qr_code_text: string | null;
          qr_count: number;
          status: string;
          status_reason: number | null;
          updated_at: string;
          user_id: string;
          webhook_configured_at: string | null;
          webhook_events: string[] | null;
          webhook_url: string | null;
        };
        Insert: {
          connected_at?: string | null;
          created_at?: string;
          id?: string;
          instance_id?: string | null;
          instance_name: string;
          instance_status?: string;
          instance_token?: string | null;
          last_event_at?: string | null;
          last_qr_update?: string | null;
          pairing_code?: string | null;
          phone_number?: string | null;
          profile_name?: string | null;
          qr_code?: string | null;
          qr_code_text?: string | null;
          qr_count?: number;
          status?: string;
          status_reason?: number | null;
          updated_at?: string;
          user_id: string;
          webhook_configured_at?: string | null;
          webhook_events?: string[] | null;
          webhook_url?: string | null;
        };
        Update: {
          connected_at?: string | null;
          created_at?: string;
          id?: string;
          instance_id?: string | null;
          instance_name?: string;
          instance_status?: string;
          instance_token?: string | null;
          last_event_at?: string | null;
          last_qr_update?: string | null;
          pairing_code?: string | null;
          phone_number?: string | null;
          profile_name?: string | null;
          qr_code?: string | null;
          qr_code_text?: string | null;
          qr_count?: number;
          status?: string;
          status_reason?: number | null;
          updated_at?: string;
          user_id?: string;
          webhook_configured_at?: string | null;
          webhook_events?: string[] | null;
          webhook_url?: string | null;
        };
        Relationships: [];
      };
      evolution_webhook_events: {
        Row: {
          error: string | null;
          event: string;
          handled_at: string | null;
          id: number;
          instance_name: string;
          outcome: string | null;
          payload: NonNullable<Json>;
          payload_hash: string;
          received_at: string;
        };
        Insert: {
          error?: string | null;
          event: string;
          handled_at?: string | null;
          id?: never;
          instance_name: string;
          outcome?: string | null;
          payload: NonNullable<Json>;
          payload_hash: string;
          received_at?: string;
        };
        Update: {
          error?: string | null;
          event?: string;
          handled_at?: string | null;
          id?: never;
          instance_name?: string;
          outcome?: string | null;
          payload?: NonNullable<Json>;
          payload_hash?: string;
          received_at?: string;
        };
        Relationships: [];
      };
      machines: {
        Row: {
          created_at: string;
          id: number;
          location: string | null;
          machine_type: string;
          model: string | null;
          name: string;
          serial_number: string | null;
          status: string;
          updated_at: string;
        };
        Insert: {
          created_at?: string;
          id?: number;
          location?: string | null;
          machine_type: string;
          model?: string | null;
          name: string;
          serial_number?: string | null;
          status?: string;
          updated_at?: string;
        };
        Update: {
          created_at?: string;
          id?: number;
          location?: string | null;
          machine_type?: string;
          model?: string | null;
          name?: string;
          serial_number?: string | null;
          status?: string;
          updated_at?: string;
        };
        Relationships: [];
      };
      order_items: {
        Row: {
          id: number;
          order_id: number;
          product_id: number;
          quantity: number;
          unit_price_cents: number;
        };
        Insert: {
          id?: number;
          order_id: number;
          product_id: number;
          quantity: number;
          unit_price_cents: number;
        };
        Update: {
          id?: number;
          order_id?: number;
          product_id?: number;
          quantity?: number;
          unit_price_cents?: number;
        };
        Relationships: [
          {
            foreignKeyName: "order_items_order_id_fkey";
            columns: ["order_id"];
            isOneToOne: false;
            referencedRelation: "orders";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "order_items_product_id_fkey";
            columns: ["product_id"];
            isOneToOne: false;
            referencedRelation: "products";
            referencedColumns: ["id"];
          },
        ];
      };
      orders: {
        Row: {
          cancelled_at: string | null;
          created_at: string;
          customer_id: string;
          id: number;
          paid_at: string | null;
          payment_status: string;
          picked_up_at: string | null;
          ready_at: string | null;
          status: string;
          total_cents: number;
          updated_at: string;
        };
        Insert: {
          cancelled_at?: string | null;
          created_at?: string;
          customer_id: string;
          id?: number;
          paid_at?: string | null;
          payment_status?: string;
          picked_up_at?: string | null;
          ready_at?: string | null;
          status?: string;
          total_cents?: number;
          updated_at?: string;
        };
        Update: {
          cancelled_at?: string | null;
          created_at?: string;
          customer_id?: string;
          id?: number;
          paid_at?: string | null;
          payment_status?: string;
          picked_up_at?: string | null;
          ready_at?: string | null;
          status?: string;
          total_cents?: number;
          updated_at?: string;
        };
        Relationships: [
          {
            foreignKeyName: "orders_customer_id_fkey";
            columns: ["customer_id"];
            isOneToOne: false;
            referencedRelation: "customers";
            referencedColumns: ["id"];
          },
        ];
      };
      patients: {
        Row: {
          created_at: string;
          email: string | null;
          first_name: string;
          id: string;
          last_name: string;
          locale: string;
          phone: string | null;
          updated_at: string;
        };
        Insert: {
          created_at?: string;
          email?: string | null;
          first_name: string;
          id?: string;
          last_name: string;
          locale?: string;
          phone?: string | null;
          updated_at?: string;
        };
        Update: {
          created_at?: string;
          email?: string | null;
          first_name?: string;
          id?: string;
          last_name?: string;
          locale?: string;
          phone?: string | null;
          updated_at?: string;
        };
        Relationships: [];
      };
      practitioners: {
        Row: {
          active: boolean;
          created_at: string;
          email: string | null;
          full_name: string;
          id: string;
          updated_at: string;
        };
        Insert: {
          active?: boolean;
          created_at?: string;
          email?: string | null;
          full_name: string;
          id?: string;
          updated_at?: string;
        };
        Update: {
          active?: boolean;
          created_at?: string;
          email?: string | null;
          full_name?: string;
          id?: string;
          updated_at?: string;
        };
        Relationships: [];
      };
      products: {
        Row: {
          active: boolean;
          created_at: string;
          id: number;
          low_stock_threshold: number;
          name: string;
          price_cents: number;
          stock: number;
          updated_at: string;
        };
        Insert: {
          active?: boolean;
          created_at?: string;
          id?: number;
          low_stock_threshold?: number;
          name: string;
          price_cents: number;
          stock?: number;
          updated_at?: string;
        };
        Update: {
          active?: boolean;
          created_at?: string;
          id?: number;
          low_stock_threshold?: number;
          name?: string;
          price_cents?: number;
          stock?: number;
          updated_at?: string;
        };
        Relationships: [];
      };
      profiles: {
        Row: {
          created_at: string;
          full_name: string | null;
          id: string;
          updated_at: string;
        };
        Insert: {
          created_at?: string;
          full_name?: string | null;
          id: string;
          updated_at?: string;
        };
        Update: {
          created_at?: string;
          full_name?: string | null;
          id?: string;
          updated_at?: string;
        };
        Relationships: [];
      };
      review_requests: {
        Row: {
          answered_at: string | null;
          channel: string | null;
          customer_id: string;
          link_expires_at: string | null;
          link_pending_token: string | null;
          link_token_hash: string | null;
          link_used_at: string | null;
          message_id: string | null;
          order_id: number;
          question_sent_at: string | null;
          reason: string | null;
          requested_at: string;
          sent_at: string | null;
          status: string;
        };
        Insert: {
          answered_at?: string | null;
          channel?: string | null;
          customer_id: string;
          link_expires_at?: string | null;
          link_pending_token?: string | null;
          link_token_hash?: string | null;
          link_used_at?: string | null;
          message_id?: string | null;
          order_id: number;
          question_sent_at?: string | null;
          reason?: string | null;
          requested_at: string;
          sent_at?: string | null;
          status?: string;
        };
        Update: {
          answered_at?: string | null;
          channel?: string | null;
          customer_id?: string;
          link_expires_at?: string | null;
          link_pending_token?: string | null;
          link_token_hash?: string | null;
          link_used_at?: string | null;
          message_id?: string | null;
          order_id?: number;
          question_sent_at?: string | null;
          reason?: string | null;
          requested_at?: string;
          sent_at?: string | null;
          status?: string;
        };
        Relationships: [
          {
            foreignKeyName: "review_requests_customer_id_fkey";
            columns: ["customer_id"];
            isOneToOne: false;
            referencedRelation: "customers";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "review_requests_message_id_fkey";
            columns: ["message_id"];
            isOneToOne: false;
            referencedRelation: "shop_message_story";
            referencedColumns: ["message_id"];
          },
          {
            foreignKeyName: "review_requests_message_id_fkey";
            columns: ["message_id"];
            isOneToOne: false;
            referencedRelation: "shop_messages";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "review_requests_order_id_fkey";
            columns: ["order_id"];
            isOneToOne: true;
            referencedRelation: "orders";
            referencedColumns: ["id"];
          },
        ];
      };
      reviews: {
        Row: {
          channel: string;
          comment: string | null;
          created_at: string;
          customer_id: string;
          id: number;
          order_id: number;
          rating: number;
        };
        Insert: {
          channel: string;
          comment?: string | null;
          created_at?: string;
          customer_id: string;
          id?: number;
          order_id: number;
          rating: number;
        };
        Update: {
          channel?: string;
          comment?: string | null;
          created_at?: string;
          customer_id?: string;
          id?: number;
          order_id?: number;
          rating?: number;
        };
        Relationships: [
          {
            foreignKeyName: "reviews_customer_id_fkey";
            columns: ["customer_id"];
            isOneToOne: false;
            referencedRelation: "customers";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "reviews_order_id_fkey";
            columns: ["order_id"];
            isOneToOne: true;
            referencedRelation: "orders";
            referencedColumns: ["id"];
          },
        ];
      };
      shop_alerts: {
        Row: {
          created_at: string;
          deliveries: NonNullable<Json>;
          details: NonNullable<Json>;
          id: number;
          job_id: number | null;
          kind: string;
          not_before: string;
          sent_at: string | null;
          status: string;
          subject: string;
        };
        Insert: {
          created_at?: string;
          deliveries?: NonNullable<Json>;
          details?: NonNullable<Json>;
          id?: number;
          job_id?: number | null;
          kind: string;
          not_before?: string;
          sent_at?: string | null;
          status?: string;
          subject: string;
        };
        Update: {
          created_at?: string;
          deliveries?: NonNullable<Json>;
          details?: NonNullable<Json>;
          id?: number;
          job_id?: number | null;
          kind?: string;
          not_before?: string;
          sent_at?: string | null;
          status?: string;
          subject?: string;
        };
        Relationships: [];
      };
      shop_automation_runs: {
        Row: {
          automation: string;
          error: string | null;
          finished_at: string | null;
          id: number;
          result: Json | null;
          shop_day: string | null;
          started_at: string;
          trigger: string;
        };
        Insert: {
          automation: string;
          error?: string | null;
          finished_at?: string | null;
          id?: number;
          result?: Json | null;
          shop_day?: string | null;
          started_at: string;
          trigger?: string;
        };
        Update: {
          automation?: string;
          error?: string | null;
          finished_at?: string | null;
          id?: number;
          result?: Json | null;
          shop_day?: string | null;
          started_at?: string;
          trigger?: string;
        };
        Relationships: [];
      };
      shop_daily_analytics: {
        Row: {
          average_rating: number | null;
          computed_at: string;
          day: string;
          messages_received: number;
          new_customers: number;
          orders_created: number;
          returning_customers: number;
          revenue_cents: number;
          reviews: number;
        };
        Insert: {
          average_rating?: number | null;
          computed_at?: string;
          day: string;
          messages_received?: number;
          new_customers?: number;
          orders_created?: number;
          returning_customers?: number;
          revenue_cents?: number;
          reviews?: number;
        };
        Update: {
          average_rating?: number | null;
          computed_at?: string;
          day?: string;
          messages_received?: number;
          new_customers?: number;
          orders_created?: number;
          returning_customers?: number;
          revenue_cents?: number;
          reviews?: number;
        };
        Relationships: [];
      };
      shop_messages: {
        Row: {
          attempts: number;
          cancel_reason: string | null;
          channel: string | null;
          created_at: string;
          customer_id: string;
          error: string | null;
          fallback_reason: string | null;
          id: string;
          job_id: number | null;
          kind: string;
          order_id: number;
          provider_message_id: string | null;
          scheduled_for: string;
          sent_at: string | null;
          status: string;
          updated_at: string;
        };
        Insert: {
          attempts?: number;
          cancel_reason?: string | null;
          channel?: string | null;
          created_at?: string;
          customer_id: string;
          error?: string | null;
          fallback_reason?: string | null;
          id?: string;
          job_id?: number | null;
          kind: string;
          order_id: number;
          provider_message_id?: string | null;
          scheduled_for: string;
          sent_at?: string | null;
          status?: string;
          updated_at?: string;
        };
        Update: {
          attempts?: number;
          cancel_reason?: string | null;
          channel?: string | null;
          created_at?: string;
          customer_id?: string;
          error?: string | null;
          fallback_reason?: string | null;
          id?: string;
          job_id?: number | null;
          kind?: string;
          order_id?: number;
          provider_message_id?: string | null;
          scheduled_for?: string;
          sent_at?: string | null;
          status?: string;
          updated_at?: string;
        };
        Relationships: [
          {
            foreignKeyName: "shop_messages_customer_id_fkey";
            columns: ["customer_id"];
            isOneToOne: false;
            referencedRelation: "customers";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "shop_messages_order_id_fkey";
            columns: ["order_id"];
            isOneToOne: false;
            referencedRelation: "orders";
            referencedColumns: ["id"];
          },
        ];
      };
      shop_review_replies: {
        Row: {
          comment: string | null;
          created_at: string;
          inbound_id: number;
          order_id: number;
          outcome: string;
          rating: number | null;
        };
        Insert: {
          comment?: string | null;
          created_at?: string;
          inbound_id: number;
          order_id: number;
          outcome: string;
          rating?: number | null;
        };
        Update: {
          comment?: string | null;
          created_at?: string;
          inbound_id?: number;
          order_id?: number;
          outcome?: string;
          rating?: number | null;
        };
        Relationships: [
          {
            foreignKeyName: "shop_review_replies_inbound_id_fkey";
            columns: ["inbound_id"];
            isOneToOne: true;
            referencedRelation: "whatsapp_inbound_messages";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "shop_review_replies_order_id_fkey";
            columns: ["order_id"];
            isOneToOne: false;
            referencedRelation: "orders";
            referencedColumns: ["id"];
          },
        ];
      };
      shop_settings: {
        Row: {
          admin_emails: string[];
          admin_language: string;
          admin_whatsapp_numbers: string[];
          alert_digest_interval: string;
          cart_cleanup_batch: number;
          cart_lifetime: string;
          email_from: string;
          id: boolean;
          payment_reminder_after: string;
          pickup_reminder_after: string;
          quiet_end: string;
          quiet_start: string;
          reply_window: string;
          review_delay: string;
          review_hour: string;
          satisfaction_after: string;
          shop_name: string;
          time_zone: string;
          updated_at: string;
          whatsapp_instance: string | null;
        };
        Insert: {
          admin_emails?: string[];
          admin_language?: string;
          admin_whatsapp_numbers?: string[];
          alert_digest_interval?: string;
          cart_cleanup_batch?: number;
          cart_lifetime?: string;
          email_from?: string;
          id?: boolean;
          payment_reminder_after?: string;
          pickup_reminder_after?: string;
          quiet_end?: string;
          quiet_start?: string;
          reply_window?: string;
          review_delay?: string;
          review_hour?: string;
          satisfaction_after?: string;
          shop_name?: string;
          time_zone?: string;
          updated_at?: string;
          whatsapp_instance?: string | null;
        };
        Update: {
          admin_emails?: string[];
          admin_language?: string;
          admin_whatsapp_numbers?: string[];
          alert_digest_interval?: string;
          cart_cleanup_batch?: number;
          cart_lifetime?: string;
          email_from?: string;
          id?: boolean;
          payment_reminder_after?: string;
          pickup_reminder_after?: string;
          quiet_end?: string;
          quiet_start?: string;
          reply_window?: string;
          review_delay?: string;
          review_hour?: string;
          satisfaction_after?: string;
          shop_name?: string;
          time_zone?: string;
          updated_at?: string;
          whatsapp_instance?: string | null;
        };
        Relationships: [
          {
            foreignKeyName: "shop_settings_whatsapp_instance_fkey";
            columns: ["whatsapp_instance"];
            isOneToOne: false;
            referencedRelation: "evolution_instances";
            referencedColumns: ["instance_name"];
          },
        ];
      };
      slot_offer_invitations: {
        Row: {
          confirmation_email_id: string | null;
          confirmation_sent_at: string | null;
          created_at: string;
          email: string;
          email_id: string | null;
          expires_at: string;
          id: string;
          last_error: string | null;
          locale: string;
          patient_id: string;
          pending_token: string | null;
          rank: number;
          responded_at: string | null;
          send_attempts: number;
          sent_at: string | null;
          slot_offer_id: string;
          status: string;
          token_hash: string;
          updated_at: string;
          waitlist_id: string;
          wave: number;
        };
        Insert: {
          confirmation_email_id?: string | null;
          confirmation_sent_at?: string | null;
          created_at?: string;
          email: string;
          email_id?: string | null;
          expires_at: string;
          id?: string;
          last_error?: string | null;
          locale: string;
          patient_id: string;
          pending_token?: string | null;
          rank: number;
          responded_at?: string | null;
          send_attempts?: number;
          sent_at?: string | null;
          slot_offer_id: string;
          status?: string;
          token_hash: string;
          updated_at?: string;
          waitlist_id: string;
          wave: number;
        };
        Update: {
          confirmation_email_id?: string | null;
          confirmation_sent_at?: string | null;
          created_at?: string;
          email?: string;
          email_id?: string | null;
          expires_at?: string;
          id?: string;
          last_error?: string | null;
          locale?: string;
          patient_id?: string;
          pending_token?: string | null;
          rank?: number;
          responded_at?: string | null;
          send_attempts?: number;
          sent_at?: string | null;
          slot_offer_id?: string;
          status?: string;
          token_hash?: string;
          updated_at?: string;
          waitlist_id?: string;
          wave?: number;
        };
        Relationships: [
          {
            foreignKeyName: "slot_offer_invitations_patient_id_fkey";
            columns: ["patient_id"];
            isOneToOne: false;
            referencedRelation: "patients";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "slot_offer_invitations_slot_offer_id_fkey";
            columns: ["slot_offer_id"];
            isOneToOne: false;
            referencedRelation: "appointment_slot_offers";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "slot_offer_invitations_waitlist_id_fkey";
            columns: ["waitlist_id"];
            isOneToOne: false;
            referencedRelation: "waitlist";
            referencedColumns: ["id"];
          },
        ];
      };
      tickets: {
        Row: {
          assigned_to: string | null;
          created_at: string;
          created_by: string | null;
          description: string;
          id: number;
          machine_id: number;
          priority: string;
          scheduled_date: string | null;
          status: string;
          title: string;
          updated_at: string;
        };
        Insert: {
          assigned_to?: string | null;
          created_at?: string;
          created_by?: string | null;
          description?: string;
          id?: number;
          machine_id: number;
          priority?: string;
          scheduled_date?: string | null;
          status?: string;
          title: string;
          updated_at?: string;
        };
        Update: {
          assigned_to?: string | null;
          created_at?: string;
          created_by?: string | null;
          description?: string;
          id?: number;
          machine_id?: number;
          priority?: string;
          scheduled_date?: string | null;
          status?: string;
          title?: string;
          updated_at?: string;
        };
        Relationships: [
          {
            foreignKeyName: "tickets_assigned_to_fkey";
            columns: ["assigned_to"];
            isOneToOne: false;
            referencedRelation: "workshop_users";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "tickets_created_by_fkey";
            columns: ["created_by"];
            isOneToOne: false;
            referencedRelation: "workshop_users";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "tickets_machine_id_fkey";
            columns: ["machine_id"];
            isOneToOne: false;
            referencedRelation: "machines";
            referencedColumns: ["id"];
          },
        ];
      };
      waitlist: {
        Row: {
          appointment_type_id: string;
          consent_automated_notifications: boolean;
          created_at: string;
          earliest_date: string;
          fulfilled_appointment_id: string | null;
          fulfilled_at: string | null;
          id: string;
          latest_date: string | null;
          notes: string | null;
          patient_id: string;
          practitioner_id: string | null;
          priority: number;
          status: string;
          updated_at: string;
        };
        Insert: {
          appointment_type_id: string;
          consent_automated_notifications?: boolean;
          created_at?: string;
          earliest_date?: string;
          fulfilled_appointment_id?: string | null;
          fulfilled_at?: string | null;
          id?: string;
          latest_date?: string | null;
          notes?: string | null;
          patient_id: string;
          practitioner_id?: string | null;
          priority?: number;
          status?: string;
          updated_at?: string;
        };
        Update: {
          appointment_type_id?: string;
          consent_automated_notifications?: boolean;
          created_at?: string;
          earliest_date?: string;
          fulfilled_appointment_id?: string | null;
          fulfilled_at?: string | null;
          id?: string;
          latest_date?: string | null;
          notes?: string | null;
          patient_id?: string;
          practitioner_id?: string | null;
          priority?: number;
          status?: string;
          updated_at?: string;
        };
        Relationships: [
          {
            foreignKeyName: "waitlist_appointment_type_id_fkey";
            columns: ["appointment_type_id"];
            isOneToOne: false;
            referencedRelation: "appointment_types";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "waitlist_fulfilled_appointment_id_fkey";
            columns: ["fulfilled_appointment_id"];
            isOneToOne: false;
            referencedRelation: "appointments";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "waitlist_patient_id_fkey";
            columns: ["patient_id"];
            isOneToOne: false;
            referencedRelation: "patients";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "waitlist_practitioner_id_fkey";
            columns: ["practitioner_id"];
            isOneToOne: false;
            referencedRelation: "practitioners";
            referencedColumns: ["id"];
          },
        ];
      };
      waitlist_availability: {
        Row: {
          end_time: string;
          id: number;
          start_time: string;
          waitlist_id: string;
          weekday: number;
        };
        Insert: {
          end_time: string;
          id?: never;
          start_time: string;
          waitlist_id: string;
          weekday: number;
        };
        Update: {
          end_time?: string;
          id?: never;
          start_time?: string;
          waitlist_id?: string;
          weekday?: number;
        };
        Relationships: [
          {
            foreignKeyName: "waitlist_availability_waitlist_id_fkey";
            columns: ["waitlist_id"];
            isOneToOne: false;
            referencedRelation: "waitlist";
            referencedColumns: ["id"];
          },
        ];
      };
      waitlist_settings: {
        Row: {
          clinic_name: string;
          clinic_time_zone: string;
          id: boolean;
          invitation_lifetime: string;
          offer_cutoff: string;
          public_base_url: string | null;
          quiet_hours_end: string | null;
          quiet_hours_start: string | null;
          sender: string;
          updated_at: string;
          wave_interval: string;
          wave_size: number;
        };
        Insert: {
          clinic_name?: string;
          clinic_time_zone?: string;
          id?: boolean;
          invitation_lifetime?: string;
          offer_cutoff?: string;
          public_base_url?: string | null;
          quiet_hours_end?: string | null;
          quiet_hours_start?: string | null;
          sender?: string;
          updated_at?: string;
          wave_interval?: string;
          wave_size?: number;
        };
        Update: {
          clinic_name?: string;
          clinic_time_zone?: string;
          id?: boolean;
          invitation_lifetime?: string;
          offer_cutoff?: string;
          public_base_url?: string | null;
          quiet_hours_end?: string | null;
          quiet_hours_start?: string | null;
          sender?: string;
          updated_at?: string;
          wave_interval?: string;
          wave_size?: number;
        };
        Relationships: [];
      };
      waitlist_trigger_logs: {
        Row: {
          appointment_id: string | null;
          created_at: string;
          details: NonNullable<Json>;
          error_message: string | null;
          id: number;
          invitation_id: string | null;
          message: string | null;
          retry_count: number;
          slot_offer_id: string | null;
          status: string;
          trigger_type: string;
        };
        Insert: {
          appointment_id?: string | null;
          created_at?: string;
          details?: NonNullable<Json>;
          error_message?: string | null;
          id?: never;
          invitation_id?: string | null;
          message?: string | null;
          retry_count?: number;
          slot_offer_id?: string | null;
          status: string;
          trigger_type: string;
        };
        Update: {
          appointment_id?: string | null;
          created_at?: string;
          details?: NonNullable<Json>;
          error_message?: string | null;
          id?: never;
          invitation_id?: string | null;
          message?: string | null;
          retry_count?: number;
          slot_offer_id?: string | null;
          status?: string;
          trigger_type?: string;
        };
        Relationships: [
          {
            foreignKeyName: "waitlist_trigger_logs_slot_offer_id_fkey";
            columns: ["slot_offer_id"];
            isOneToOne: false;
            referencedRelation: "appointment_slot_offers";
            referencedColumns: ["id"];
          },
        ];
      };
      webhook_attempts: {
        Row: {
          attempt: number;
          duration_ms: number | null;
          endpoint_id: string;
          error: string | null;
          id: number;
          job_id: number | null;
          message_id: string;
          next_attempt_at: string | null;
          outcome: string;
          response_excerpt: string | null;
          response_status: number | null;
          started_at: string;
        };
        Insert: {
          attempt: number;
          duration_ms?: number | null;
          endpoint_id: string;
          error?: string | null;
          id?: never;
          job_id?: number | null;
          message_id: string;
          next_attempt_at?: string | null;
          outcome: string;
          response_excerpt?: string | null;
          response_status?: number | null;
          started_at: string;
        };
        Update: {
          attempt?: number;
          duration_ms?: number | null;
          endpoint_id?: string;
          error?: string | null;
          id?: never;
          job_id?: number | null;
          message_id?: string;
          next_attempt_at?: string | null;
          outcome?: string;
          response_excerpt?: string | null;
          response_status?: number | null;
          started_at?: string;
        };
        Relationships: [
          {
            foreignKeyName: "webhook_attempts_message_id_fkey";
            columns: ["message_id"];
            isOneToOne: false;
            referencedRelation: "ticket_notification_story";
            referencedColumns: ["message_id"];
          },
          {
            foreignKeyName: "webhook_attempts_message_id_fkey";
            columns: ["message_id"];
            isOneToOne: false;
            referencedRelation: "webhook_messages";
            referencedColumns: ["id"];
          },
        ];
      };
      webhook_endpoints: {
        Row: {
          created_at: string;
          created_by: string | null;
          description: string;
          disabled_at: string | null;
          disabled_reason: string | null;
          enabled: boolean;
          event_types: string[] | null;
          failing_since: string | null;
          id: string;
          previous_secret_expires_at: string | null;
          previous_secret_id: string | null;
          rate_limit_per_second: number | null;
          rate_refilled_at: string | null;
          rate_tokens: number | null;
          secret_id: string;
          updated_at: string;
          url: string;
        };
        Insert: {
          created_at?: string;
          created_by?: string | null;
          description?: string;
          disabled_at?: string | null;
          disabled_reason?: string | null;
          enabled?: boolean;
          event_types?: string[] | null;
          failing_since?: string | null;
          id?: string;
          previous_secret_expires_at?: string | null;
          previous_secret_id?: string | null;
          rate_limit_per_second?: number | null;
          rate_refilled_at?: string | null;
          rate_tokens?: number | null;
          secret_id: string;
          updated_at?: string;
          url: string;
        };
        Update: {
          created_at?: string;
          created_by?: string | null;
          description?: string;
          disabled_at?: string | null;
          disabled_reason?: string | null;
          enabled?: boolean;
          event_types?: string[] | null;
          failing_since?: string | null;
          id?: string;
          previous_secret_expires_at?: string | null;
          previous_secret_id?: string | null;
          rate_limit_per_second?: number | null;
          rate_refilled_at?: string | null;
          rate_tokens?: number | null;
          secret_id?: string;
          updated_at?: string;
          url?: string;
        };
        Relationships: [];
      };
      webhook_messages: {
        Row: {
          attempts: number;
          created_at: string;
          delivered_at: string | null;
          endpoint_id: string;
          event_id: string;
          event_type: string;
          failed_at: string | null;
          failure_reason: string | null;
          id: string;
          job_id: number | null;
          last_attempt_at: string | null;
          last_response_status: number | null;
          payload: NonNullable<Json>;
          status: string;
          subject: string | null;
        };
        Insert: {
          attempts?: number;
          created_at?: string;
          delivered_at?: string | null;
          endpoint_id: string;
          event_id: string;
          event_type: string;
          failed_at?: string | null;
          failure_reason?: string | null;
          id?: string;
          job_id?: number | null;
          last_attempt_at?: string | null;
          last_response_status?: number | null;
          payload: NonNullable<Json>;
          status?: string;
          subject?: string | null;
        };
        Update: {
          attempts?: number;
          created_at?: string;
          delivered_at?: string | null;
          endpoint_id?: string;
          event_id?: string;
          event_type?: string;
          failed_at?: string | null;
          failure_reason?: string | null;
          id?: string;
          job_id?: number | null;
          last_attempt_at?: string | null;
          last_response_status?: number | null;
          payload?: NonNullable<Json>;
          status?: string;
          subject?: string | null;
        };
        Relationships: [
          {
            foreignKeyName: "webhook_messages_endpoint_id_fkey";
            columns: ["endpoint_id"];
            isOneToOne: false;
            referencedRelation: "webhook_delivery_outcomes";
            referencedColumns: ["endpoint_id"];
          },
          {
            foreignKeyName: "webhook_messages_endpoint_id_fkey";
            columns: ["endpoint_id"];
            isOneToOne: false;
            referencedRelation: "webhook_endpoint_health";
            referencedColumns: ["endpoint_id"];
          },
          {
            foreignKeyName: "webhook_messages_endpoint_id_fkey";
            columns: ["endpoint_id"];
            isOneToOne: false;
            referencedRelation: "webhook_endpoints";
            referencedColumns: ["id"];
          },
        ];
      };
      webhook_notifications: {
        Row: {
          endpoint_count: number;
          event_id: string;
          id: string;
          next_allowed_at: string;
          notified_at: string;
          overdue_by: string;
          ticket_id: number;
        };
        Insert: {
          endpoint_count: number;
          event_id?: never;
          id?: string;
          next_allowed_at: string;
          notified_at: string;
          overdue_by: string;
          ticket_id: number;
        };
        Update: {
          endpoint_count?: number;
          event_id?: never;
          id?: string;
          next_allowed_at?: string;
          notified_at?: string;
          overdue_by?: string;
          ticket_id?: number;
        };
        Relationships: [
          {
            foreignKeyName: "webhook_notifications_ticket_id_fkey";
            columns: ["ticket_id"];
            isOneToOne: false;
            referencedRelation: "overdue_tickets";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "webhook_notifications_ticket_id_fkey";
            columns: ["ticket_id"];
            isOneToOne: false;
            referencedRelation: "tickets";
            referencedColumns: ["id"];
          },
        ];
      };
      whatsapp_inbound_messages: {
        Row: {
          from_number: string | null;
          id: number;
          instance_name: string;
          message_id: string;
          message_type: string | null;
          push_name: string | null;
          received_at: string;
          remote_jid: string | null;
          sent_at: string | null;
          text: string | null;
          user_id: string | null;
        };
        Insert: {
          from_number?: string | null;
          id?: never;
          instance_name: string;
          message_id: string;
          message_type?: string | null;
          push_name?: string | null;
          received_at?: string;
          remote_jid?: string | null;
          sent_at?: string | null;
          text?: string | null;
          user_id?: string | null;
        };
        Update: {
          from_number?: string | null;
          id?: never;
          instance_name?: string;
          message_id?: string;
          message_type?: string | null;
          push_name?: string | null;
          received_at?: string;
          remote_jid?: string | null;
          sent_at?: string | null;
          text?: string | null;
          user_id?: string | null;
        };
        Relationships: [];
      };
      whatsapp_settings: {
        Row: {
          event_retention: string;
          id: boolean;
          qr_refresh_after: string;
          qr_refresh_batch: number;
          queue_retention: string;
          updated_at: string;
          webhook_events: string[];
        };
        Insert: {
          event_retention?: string;
          id?: boolean;
          qr_refresh_after?: string;
          qr_refresh_batch?: number;
          queue_retention?: string;
          updated_at?: string;
          webhook_events?: string[];
        };
        Update: {
          event_retention?: string;
          id?: boolean;
          qr_refresh_after?: string;
          qr_refresh_batch?: number;
          queue_retention?: string;
          updated_at?: string;
          webhook_events?: string[];
        };
        Relationships: [];
      };
      workshop_settings: {
        Row: {
          check_schedule: string;
          id: boolean;
          overdue_statuses: string[];
          repeat_interval: string;
          updated_at: string;
        };
        Insert: {
          check_schedule?: string;
          id?: boolean;
          overdue_statuses?: string[];
          repeat_interval?: string;
          updated_at?: string;
        };
        Update: {
          check_schedule?: string;
          id?: boolean;
          overdue_statuses?: string[];
          repeat_interval?: string;
          updated_at?: string;
        };
        Relationships: [];
      };
      workshop_users: {
        Row: {
          active: boolean;
          auth_user_id: string | null;
          created_at: string;
          email: string;
          full_name: string;
          id: string;
          role: string;
        };
        Insert: {
          active?: boolean;
          auth_user_id?: string | null;
          created_at?: string;
          email: string;
          full_name: string;
          id?: string;
          role?: string;
        };
        Update: {
          active?: boolean;
          auth_user_id?: string | null;
          created_at?: string;
          email?: string;
          full_name?: string;
          id?: string;
          role?: string;
        };
        Relationships: [];
      };
    };
    Views: {
      overdue_tickets: {
        Row: {
          assigned_to: string | null;
          assignee_email: string | null;
          assignee_name: string | null;
          id: number | null;
          machine_id: number | null;
          machine_location: string | null;
          machine_name: string | null;
          machine_type: string | null;
          overdue_by: string | null;
          priority: string | null;
          scheduled_date: string | null;
          status: string | null;
          title: string | null;
        };
        Relationships: [
          {
            foreignKeyName: "tickets_assigned_to_fkey";
            columns: ["assigned_to"];
            isOneToOne: false;
            referencedRelation: "workshop_users";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "tickets_machine_id_fkey";
            columns: ["machine_id"];
            isOneToOne: false;
            referencedRelation: "machines";
            referencedColumns: ["id"];
          },
        ];
      };
      shop_message_story: {
        Row: {
          attempts: number | null;
          cancel_reason: string | null;
          channel: string | null;
          created_at: string | null;
          customer_id: string | null;
          customer_name: string | null;
          error: string | null;
          fallback_reason: string | null;
          job_id: number | null;
          kind: string | null;
          message_id: string | null;
          order_id: number | null;
          order_status: string | null;
          payment_status: string | null;
          scheduled_for: string | null;
          sent_at: string | null;
          status: string | null;
        };
        Relationships: [
          {
            foreignKeyName: "shop_messages_customer_id_fkey";
            columns: ["customer_id"];
            isOneToOne: false;
            referencedRelation: "customers";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "shop_messages_order_id_fkey";
            columns: ["order_id"];
            isOneToOne: false;
            referencedRelation: "orders";
            referencedColumns: ["id"];
          },
        ];
      };
      shop_review_request_status: {
        Row: {
          answered: boolean | null;
          answered_at: string | null;
          channel: string | null;
          comment: string | null;
          customer_id: string | null;
          customer_name: string | null;
          order_id: number | null;
          picked_up_at: string | null;
          question_sent_at: string | null;
          rating: number | null;
          reason: string | null;
          requested_at: string | null;
          review_channel: string | null;
          sent_at: string | null;
          status: string | null;
        };
        Relationships: [
          {
            foreignKeyName: "review_requests_customer_id_fkey";
            columns: ["customer_id"];
            isOneToOne: false;
            referencedRelation: "customers";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "review_requests_order_id_fkey";
            columns: ["order_id"];
            isOneToOne: true;
            referencedRelation: "orders";
            referencedColumns: ["id"];
          },
        ];
      };
      ticket_notification_story: {
        Row: {
          attempts: number | null;
          delivered_at: string | null;
          endpoint_id: string | null;
          endpoint_url: string | null;
          event_id: string | null;
          failed_at: string | null;
          failure_reason: string | null;
          last_attempt_at: string | null;
          last_response_status: number | null;
          message_id: string | null;
          next_allowed_at: string | null;
          notification_id: string | null;
          notified_at: string | null;
          overdue_by: string | null;
          status: string | null;
          ticket_id: number | null;
          title: string | null;
        };
        Relationships: [
          {
            foreignKeyName: "webhook_messages_endpoint_id_fkey";
            columns: ["endpoint_id"];
            isOneToOne: false;
            referencedRelation: "webhook_delivery_outcomes";
            referencedColumns: ["endpoint_id"];
          },
          {
            foreignKeyName: "webhook_messages_endpoint_id_fkey";
            columns: ["endpoint_id"];
            isOneToOne: false;
            referencedRelation: "webhook_endpoint_health";
            referencedColumns: ["endpoint_id"];
          },
          {
            foreignKeyName: "webhook_messages_endpoint_id_fkey";
            columns: ["endpoint_id"];
            isOneToOne: false;
            referencedRelation: "webhook_endpoints";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "webhook_notifications_ticket_id_fkey";
            columns: ["ticket_id"];
            isOneToOne: false;
            referencedRelation: "overdue_tickets";
            referencedColumns: ["id"];
          },
          {
            foreignKeyName: "webhook_notifications_ticket_id_fkey";
            columns: ["ticket_id"];
            isOneToOne: false;
            referencedRelation: "tickets";
            referencedColumns: ["id"];
          },
        ];
      };
      webhook_delivery_outcomes: {
        Row: {
          attempts: number | null;
          endpoint_id: string | null;
          last_attempt_at: string | null;
          messages: number | null;
          status: string | null;
          url: string | null;
        };
        Relationships: [];
      };
      webhook_endpoint_health: {
        Row: {
          disabled_at: string | null;
          disabled_reason: string | null;
          enabled: boolean | null;
          endpoint_id: string | null;
          failing_since: string | null;
          last_failure_at: string | null;
          last_failure_error: string | null;
          last_failure_status: number | null;
          last_response_status: number | null;
          last_success_at: string | null;
          url: string | null;
        };
        Relationships: [];
      };
    };
    Functions: {
      email_journal_open: {
        Args: {
          p_body: string;
          p_email_keys: string[];
          p_now?: string;
          p_request_key: string;
          p_settled_keys?: string[];
        };
        Returns: Json;
      };
      email_journal_prune: { Args: { p_now?: string }; Returns: number };
      email_journal_settle: {
        Args: { p_request_keys: string[] };
        Returns: number;
      };
      get_eligible_waitlist_candidates: {
        Args: { p_limit?: number; p_slot_offer_id: string };
        Returns: {
          availability: string;
          email: string;
          locale: string;
          patient_id: string;
          patient_name: string;
          practitioner_preference: string;
          priority: number;
          rank: number;
          waiting_since: string;
          waitlist_id: string;
          why: string;
        }[];
      };
      is_clinic_admin: { Args: Record<PropertyKey, never>; Returns: boolean };
      job_cancel: {
        Args: { p_job_id: number; p_now?: string; p_reason?: string };
        Returns: unknown;
        SetofOptions: {
          from: "*";
          to: "jobs";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      job_claim: {
        Args: {
          p_lease_seconds?: number;
          p_limit?: number;
          p_now?: string;
          p_queue: string;
          p_worker: string;
        };
        Returns: unknown[];
        SetofOptions: {
          from: "*";
          to: "jobs";
          isOneToOne: false;
          isSetofReturn: true;
        };
      };
      job_complete: {
        Args: {
          p_job_id: number;
          p_now?: string;
          p_result?: Json;
          p_worker: string;
        };
        Returns:
          | "waiting"
          | "running"
          | "succeeded"
          | "retrying"
          | "dead"
          | "cancelled";
      };
      job_enqueue: {
        Args: {
          p_dedupe_key?: string;
          p_max_attempts?: number;
          p_now?: string;
          p_payload?: Json;
          p_priority?: number;
          p_queue: string;
          p_run_at?: string;
          p_subject?: string;
        };
        Returns: unknown;
        SetofOptions: {
          from: "*";
          to: "jobs";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      job_enqueue_many: {
        Args: { p_jobs: Json; p_now?: string; p_queue: string };
        Returns: number[];
      };
      job_extend_lease: {
        Args: {
          p_job_ids: number[];
          p_lease_seconds?: number;
          p_now?: string;
          p_worker: string;
        };
        Returns: number[];
      };
      job_fail: {
        Args: {
          p_error: string;
          p_job_id: number;
          p_now?: string;
          p_permanent?: boolean;
          p_retry_after_seconds?: number;
          p_worker: string;
        };
        Returns:
          | "waiting"
          | "running"
          | "succeeded"
          | "retrying"
          | "dead"
          | "cancelled";
      };
      job_probe_record: {
        Args: {
          p_handler_started_at: string;
          p_now?: string;
          p_probe_id: number;
        };
        Returns: unknown;
        SetofOptions: {
          from: "*";
          to: "probes";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      job_report: {
        Args: { p_now?: string; p_outcomes: Json; p_worker: string };
        Returns: {
          job_id: number;
          state:
            | "waiting"
            | "running"
            | "succeeded"
            | "retrying"
            | "dead"
            | "cancelled";
        }[];
      };
      job_retry: {
        Args: { p_job_id: number; p_now?: string };
        Returns: unknown;
        SetofOptions: {
          from: "*";
          to: "jobs";
          isOneToOne: true;
          isSetofReturn: false;
        };
      };
      job_wake: {
        Args: { p_queue: string; p_reason?: string };
        Returns: number;
      };
      shop_message_record: {
        Args: {
          p_channel?: string;
          p_error?: string;
          p_fallback_reason?: string;
          p_message_id: string;
          p_now?: string;
          p_provider_message_id?: string;
          p_status: string;
        };
        Returns: Json;
      };
      shop_message_start: {
        Args: { p_message_id: string; p_now?: string };
        Returns: Json;
      };
      shop_request_reviews: {
        Args: { p_limit?: number; p_now?: string; p_trigger?: string };
        Returns: Json;
      };
      shop_review_link_use: {
        Args: { p_now?: string; p_rating: number; p_token: string };
        Returns: Json;
      };
      shop_review_link_view: {
        Args: { p_now?: string; p_token: string };
        Returns: Json;
      };
      shop_review_reply_record: {
        Args: {
          p_comment: string;
          p_inbound_id: number;
          p_now?: string;
          p_rating: number;
        };
        Returns: Json;
      };
      shop_review_reply_start: {
        Args: { p_inbound_id: number; p_now?: string };
        Returns: Json;
      };
      waitlist_booking_email: {
        Args: { p_invitation_id: string };
        Returns: Json;
      };
      waitlist_expire_due: { Args: { p_now?: string }; Returns: Json };
      waitlist_invitation_view: {
        Args: { p_now?: string; p_token: string };
        Returns: Json;
      };
      waitlist_monitor: { Args: { p_now?: string }; Returns: Json };
      waitlist_open_wave: {
        Args: {
          p_attempt?: number;
          p_now?: string;
          p_slot_offer_id: string;
          p_wave: number;
        };
        Returns: Json;
      };
      waitlist_record_booking_email: {
        Args: {
          p_attempt?: number;
          p_email_id?: string;
          p_error?: string;
          p_invitation_id: string;
          p_now?: string;
        };
        Returns: undefined;
      };
      waitlist_record_invitation_emails: {
        Args: { p_now?: string; p_results: Json };
        Returns: number;
      };
      waitlist_respond: {
        Args: { p_action: string; p_now?: string; p_token: string };
        Returns: Json;
      };
      webhook_deliveries_record: {
        Args: { p_attempts: Json; p_now?: string };
        Returns: Json;
      };
      webhook_deliveries_start: {
        Args: { p_message_ids: string[]; p_now?: string };
        Returns: Json;
      };
      webhook_endpoint_create: {
        Args: {
          p_description?: string;
          p_event_types?: string[];
          p_rate_limit_per_second?: number;
          p_secret?: string;
          p_url: string;
        };
        Returns: Json;
      };
      webhook_endpoint_delete: { Args: { p_id: string }; Returns: Json };
      webhook_endpoint_disable: {
        Args: { p_id: string; p_reason?: string };
        Returns: Json;
      };
      webhook_endpoint_enable: { Args: { p_id: string }; Returns: Json };
      webhook_endpoint_get: { Args: { p_id: string }; Returns: Json };
      webhook_endpoint_messages: {
        Args: {
          p_before?: string;
          p_id: string;
          p_limit?: number;
          p_status?: string;
        };
        Returns: Json;
      };
      webhook_endpoint_recover: {
        Args: { p_id: string; p_since: string };
        Returns: Json;
      };
      webhook_endpoint_rotate_secret: {
        Args: { p_id: string; p_secret?: string };
        Returns: Json;
      };
      webhook_endpoint_secret: { Args: { p_id: string }; Returns: Json };
      webhook_endpoint_test: { Args: { p_id: string }; Returns: Json };
      webhook_endpoint_update: {
        Args: { p_changes: Json; p_id: string };
        Returns: Json;
      };
      webhook_endpoints_list: {
        Args: Record<PropertyKey, never>;
        Returns: Json;
      };
      webhook_message_get: { Args: { p_message_id: string }; Returns: Json };
      webhook_message_replay: { Args: { p_message_id: string }; Returns: Json };
      whatsapp_connection_store: {
        Args: {
          p_instance: string;
          p_now?: string;
          p_state: string;
          p_status_reason?: number;
        };
        Returns: Json;
      };
      whatsapp_creation_complete: {
        Args: { p_instance: Json; p_now?: string; p_user_id: string };
        Returns: Json;
      };
      whatsapp_creation_start: { Args: { p_user_id: string }; Returns: Json };
      whatsapp_instance_access: { Args: { p_user_id: string }; Returns: Json };
      whatsapp_instance_removed: {
        Args: { p_now?: string; p_status: string; p_user_id: string };
        Returns: Json;
      };
      whatsapp_journal_prune: { Args: { p_now?: string }; Returns: number };
      whatsapp_my_instance: { Args: Record<PropertyKey, never>; Returns: Json };
      whatsapp_qr_due: {
        Args: { p_limit?: number; p_now?: string };
        Returns: {
          instance_name: string;
          instance_token: string;
          user_id: string;
        }[];
      };
      whatsapp_qr_store: {
        Args: { p_instance: string; p_now?: string; p_qr: Json };
        Returns: Json;
      };
      whatsapp_request_instance: {
        Args: { p_now?: string; p_user_id: string };
        Returns: Json;
      };
      whatsapp_send_open: {
        Args: {
          p_instance: string;
          p_now?: string;
          p_number: string;
          p_send_key: string;
          p_text: string;
        };
        Returns: Json;
      };
      whatsapp_send_settle: {
        Args: {
          p_error?: string;
          p_message_id?: string;
          p_now?: string;
          p_send_key: string;
          p_state: string;
        };
        Returns: undefined;
      };
      whatsapp_webhook_configured: {
        Args: {
          p_events: string[];
          p_instance: string;
          p_now?: string;
          p_url: string;
        };
        Returns: Json;
      };
      whatsapp_webhook_receive: {
        Args: {
          p_event: string;
          p_instance: string;
          p_now?: string;
          p_payload: Json;
          p_payload_hash?: string;
          p_secret: string;
        };
        Returns: Json;
      };
      workshop_check_overdue: {
        Args: { p_limit?: number; p_now?: string };
        Returns: Json;
      };
    };
    Enums: {
      [_ in never]: never;
    };
    CompositeTypes: {
      [_ in never]: never;
    };
  };
};

type DatabaseWithoutInternals = Omit<Database, "__InternalSupabase">;

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "public">];

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  } ? keyof (
      & DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
      & DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"]
    )
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals;
} ? (
    & DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    & DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"]
  )[TableName] extends {
    Row: infer R;
  } ? R
  : never
  : DefaultSchemaTableNameOrOptions extends keyof (
    & DefaultSchema["Tables"]
    & DefaultSchema["Views"]
  ) ? (
      & DefaultSchema["Tables"]
      & DefaultSchema["Views"]
    )[DefaultSchemaTableNameOrOptions] extends {
      Row: infer R;
    } ? R
    : never
  : never;

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  } ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals;
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends
    {
      Insert: infer I;
    } ? I
  : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
      Insert: infer I;
    } ? I
    : never
  : never;

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  } ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals;
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends
    {
      Update: infer U;
    } ? U
  : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
      Update: infer U;
    } ? U
    : never
  : never;

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends (DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  } ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never) = never,
> = DefaultSchemaEnumNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals;
} ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
    ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
  : never;

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends (PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals;
  } ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never) = never,
> = PublicCompositeTypeNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals;
} ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][
    CompositeTypeName
  ]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
    ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
  : never;

export const Constants = {
  public: {
    Enums: {},
  },
} as const;
